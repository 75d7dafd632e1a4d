using MiniNet.Optim;

namespace MiniNet.Tests.Optim;

public class LRSchedulerTests
{
    static SGD Optimizer(double lr)
    {
        var p = Tensor.Zeros(2);
        p.RequiresGrad = true;
        return new SGD([p], lr);
    }

    [Fact]
    public void StepLR_decays_every_step_size_steps()
    {
        var opt = Optimizer(1.0);
        var scheduler = new StepLR(opt, stepSize: 2, gamma: 0.5);
        var seen = new List<double> { opt.Lr };
        for (int i = 0; i < 5; i++)
        {
            scheduler.Step();
            seen.Add(opt.Lr);
        }
        Assert.Equal([1.0, 1.0, 0.5, 0.5, 0.25, 0.25], seen);
    }

    [Fact]
    public void CosineAnnealingLR_follows_the_closed_form()
    {
        var opt = Optimizer(0.1);
        var scheduler = new CosineAnnealingLR(opt, tMax: 4, etaMin: 0.02);
        double[] expected = [0.1, 0.02 + 0.08 * (1 + Math.Cos(Math.PI / 4)) / 2, 0.06, 0.02 + 0.08 * (1 + Math.Cos(3 * Math.PI / 4)) / 2, 0.02];
        Assert.Equal(expected[0], opt.Lr);
        for (int t = 1; t <= 4; t++)
        {
            scheduler.Step();
            Assert.Equal(expected[t], opt.Lr, 15);
            Assert.Equal(t, scheduler.LastEpoch);
        }
    }

    [Fact]
    public void SetLastEpoch_restores_the_rate_of_a_resumed_run()
    {
        var opt = Optimizer(0.1);
        var scheduler = new CosineAnnealingLR(opt, tMax: 10);
        scheduler.SetLastEpoch(5);
        Assert.Equal(0.05, opt.Lr, 15);
        scheduler.Step();
        Assert.Equal(scheduler.LearningRateAt(6), opt.Lr);
        Assert.Throws<ArgumentOutOfRangeException>(() => scheduler.SetLastEpoch(-1));
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        var opt = Optimizer(0.1);
        Assert.Contains("stepSize", Assert.Throws<ArgumentOutOfRangeException>(() => new StepLR(opt, 0)).Message);
        Assert.Contains("gamma", Assert.Throws<ArgumentOutOfRangeException>(() => new StepLR(opt, 1, -1)).Message);
        Assert.Contains("tMax", Assert.Throws<ArgumentOutOfRangeException>(() => new CosineAnnealingLR(opt, 0)).Message);
        Assert.Throws<ArgumentNullException>(() => new StepLR(null!, 1));
    }
}
