#!/usr/bin/env bash
# On a machine with a GPU and no .NET (after bench/gpu/publish.sh elsewhere): unpacks .gpu/pub.tar.xz,
# runs the GPU test suite on every ILGPU device found (CUDA included), then the BatchNorm benchmark
# for MiniNet and for PyTorch (python3 with torch), one after the other. Logs go to ${OUT:-.gpu/out}.
# Usage: bench/gpu/run.sh [tests|bench|all] [reps]
set -uo pipefail
cd "$(dirname "$0")/../.."
what=${1:-all}; reps=${2:-20}
out=${OUT:-.gpu/out}; mkdir -p "$out" /tmp/mininet-pub
tar xJf .gpu/pub.tar.xz -C /tmp/mininet-pub
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | tee "$out/gpu.txt"
status=0
if [[ $what == tests || $what == all ]]; then
  /tmp/mininet-pub/MiniNet.Gpu.Tests -parallel none -noColor 2>&1 | tee "$out/tests.log" | grep -vE "^\s+\[PASS\]" | tail -n 60
  status=${PIPESTATUS[0]}
fi
if [[ $what == bench || $what == all ]]; then
  /tmp/mininet-pub/MiniNet.Gpu.Bench cuda:0 "$reps" 2>&1 | tee "$out/bench-mininet.txt"
  PYTHONUNBUFFERED=1 python3 bench/gpu/torch_bn.py "$reps" 2>&1 | tee "$out/bench-torch.txt"
fi
exit $status
