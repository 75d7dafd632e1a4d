# PyTorch's CUDA BatchNorm2d forward + backward and a device-to-device copy, timed as
# bench/MiniNet.Gpu.Bench times MiniNet's (median of 5 rounds of `reps` calls, after a warm-up).
import sys, time, torch

reps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
sizes = [tuple(int(v) for v in s.split('x')) for s in sys.argv[2:]] or [(64, 32, 28, 28), (256, 64, 56, 56)]
dev = torch.device('cuda')
print(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}")

def timed(body):
    body(); torch.cuda.synchronize()
    rounds = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps): body()
        torch.cuda.synchronize()
        rounds.append((time.perf_counter() - t) * 1e3 / reps)
    return sorted(rounds)[2]

largest = max(n * c * h * w for n, c, h, w in sizes)
src = torch.randn(largest, device=dev); dst = torch.empty_like(src)
copy_ms = timed(lambda: dst.copy_(src))
copy_gbs = 2 * largest * 4 / (copy_ms * 1e6)
print(f"copy {largest * 4 / 1e6:.0f} MB: {copy_ms:.4f} ms, {copy_gbs:.0f} GB/s (read + write)")
print("| input | torch fwd ms | torch fwd+bwd ms | GB/s (8 sizes) | of copy |")
print("|---|---|---|---|---|")
for n, c, h, w in sizes:
    bn = torch.nn.BatchNorm2d(c).to(dev)
    x = torch.randn(n, c, h, w, device=dev, requires_grad=True)
    dy = torch.randn(n, c, h, w, device=dev)
    with torch.no_grad():
        fwd = timed(lambda: bn(x))
    def step():
        y = bn(x); y.backward(dy); x.grad = None; bn.zero_grad()
    fb = timed(step)
    gbs = 8 * x.numel() * 4 / (fb * 1e6)
    print(f"| {n}×{c}×{h}×{w} ({x.numel() * 4 / 1e6:.1f} MB) | {fwd:.4f} | {fb:.4f} | {gbs:.0f} | {100 * gbs / copy_gbs:.0f}% |")
