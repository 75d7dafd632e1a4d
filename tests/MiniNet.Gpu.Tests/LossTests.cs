// Softmax cross-entropy and log-softmax on each ILGPU device against the CPU backend: values and
// gradients through Functional (mean and sum), the loss kept on the device, the upstream gradient read
// where it lives, and the seam's edge cases (no rows, bad lengths, repeatability).
namespace MiniNet.Gpu.Tests;

public class LossTests
{
    public static TheoryData<string, string> Shapes => ElementwiseTests.DevicesTimes("7,5", "33,20", "4,1", "3,300", "1,16", "17,17");

    static int[] Targets(int n, int k, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => random.Next(k))];
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void CrossEntropy_mean_and_sum_match_the_cpu(string name, string shape)
    {
        var s = ElementwiseTests.Shape(shape);
        int n = s[0], k = s[1];
        var logits = Parity.Randn(20, true, n, k);
        var targets = Targets(n, k, 21);
        Parity.Check(name, t => Functional.CrossEntropy(t[0], targets), [logits], tol: 1e-5f);
        Parity.Check(name, t => Functional.CrossEntropy(t[0], targets, Reduction.Sum), [logits], tol: 1e-5f);
        Parity.Check(name, t => Functional.CrossEntropy(t[0], targets, Reduction.None), [logits], tol: 1e-5f);
        var huge = Tensor.Randn(new Generator(22), n, k) * 1000f;       // log-sum-exp keeps these finite
        huge.RequiresGrad = true;
        Parity.Check(name, t => Functional.CrossEntropy(t[0], targets), [huge], tol: 1e-5f);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void LogSoftmax_and_Softmax_match_the_cpu(string name, string shape)
    {
        var x = Parity.Randn(23, true, ElementwiseTests.Shape(shape));
        Parity.Check(name, t => Functional.LogSoftmax(t[0]), [x]);
        Parity.Check(name, t => Functional.Softmax(t[0]), [x]);
        Parity.Check(name, t => Functional.LogSoftmax(t[0] * 500f), [x]);
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void CrossEntropy_stays_on_the_device_and_repeats_to_the_bit(string name)
    {
        var device = TestDevices.Get(name);
        var logits = Tensor.Randn(new Generator(24), 50, 10).To(device);
        var targets = Targets(50, 10, 25);
        var loss = Functional.CrossEntropy(logits, targets);
        Assert.Equal(device, loss.Device);
        Assert.Empty(loss.Shape);
        Assert.Equal(loss.Item(), Functional.CrossEntropy(logits, targets).Item());
        Assert.Equal(Functional.CrossEntropy(logits.To(Device.Cpu), targets).Item(), loss.Item(), 1e-5f);
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void CrossEntropyBackward_reads_the_upstream_gradient_on_the_device(string name)
    {
        const int n = 6, k = 19;
        var cpu = Device.Cpu.Backend;
        var gpu = TestDevices.Get(name).Backend;
        var logits = Tensor.Randn(new Generator(26), n, k).ToArray();
        var targets = Targets(n, k, 27);
        float[] Run(Backend b)
        {
            var p = b.Allocate(n * k);
            var loss = b.Allocate(1);
            var t = b.FromHost(targets);
            b.CrossEntropyForward(b.FromHost(logits), n, k, t, p, loss);
            var d = b.FromHost(new float[n * k]);
            b.CrossEntropyBackward(p, n, k, t, b.FromHost([2.5f]), 0.1f, d);
            return [.. ElementwiseTests.Read(b, d), .. ElementwiseTests.Read(b, loss)];
        }
        Parity.AssertClose(Run(cpu), Run(gpu), 1e-6f, "dLogits and loss");
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Seam_edge_cases_no_rows_and_bad_lengths(string name)
    {
        var backend = TestDevices.Get(name).Backend;
        var loss = backend.FromHost([0f]);
        backend.CrossEntropyForward(backend.Allocate(0), 0, 5, backend.AllocateInt(0), backend.Allocate(0), loss);
        Assert.True(float.IsNaN(ElementwiseTests.Read(backend, loss)[0]), "the mean over no rows is NaN, as on the CPU");
        backend.LogSoftmax(backend.Allocate(0), 0, 3, backend.Allocate(0));
        var e = Assert.Throws<ArgumentException>(() => backend.CrossEntropyForward(backend.Allocate(10), 3, 4, backend.AllocateInt(3), backend.Allocate(12), loss));
        Assert.Contains("CrossEntropy", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => backend.CrossEntropyForward(backend.Allocate(12), 3, 4, backend.AllocateInt(2), backend.Allocate(12), loss));
        Assert.Throws<ArgumentException>(() => backend.LogSoftmaxBackward(backend.Allocate(12), backend.Allocate(12), 3, 4, backend.Allocate(11)));
    }
}
