// ForkJoin: every item runs exactly once, on several threads when the machine has them; nested and
// concurrent calls run inline instead of deadlocking; an item's exception reaches the caller after
// the other items finished; workers that have gone to sleep wake for the next call.
using MiniNet.Kernels;

namespace MiniNet.Tests.Kernels;

/// <summary>Runs alone, after the parallel tests: other tests' kernels would hold the one job slot.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ForkJoinAlone
{
    public const string Name = "Uses ForkJoin alone";
}

[Collection(ForkJoinAlone.Name)]
public class ForkJoinTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(1000)]
    public void Every_item_runs_exactly_once(int count)
    {
        for (int round = 0; round < 50; round++)
        {
            var runs = new int[count];
            ForkJoin.For(count, i => Interlocked.Increment(ref runs[i]));
            Assert.All(runs, r => Assert.Equal(1, r));
        }
    }

    [Fact]
    public void Items_run_on_more_than_one_thread()
    {
        if (ForkJoin.Width >= 2)
        {
            Assert.True(TwoItemsMeet(), "two items never ran on two threads at once");
        }
    }

    [Fact]
    public void Sleeping_workers_wake_for_the_next_call()
    {
        if (ForkJoin.Width >= 2)
        {
            ForkJoin.For(4, _ => { });
            Thread.Sleep(50); // far past the spin window: the workers block
            Assert.True(TwoItemsMeet(), "no worker woke for the call");
        }
    }

    [Fact]
    public void Nested_calls_run_inline()
    {
        var runs = new int[4 * 5];
        ForkJoin.For(4, i => ForkJoin.For(5, j => Interlocked.Increment(ref runs[(i * 5) + j])));
        Assert.All(runs, r => Assert.Equal(1, r));
    }

    [Fact]
    public async Task Concurrent_callers_all_complete()
    {
        var totals = new long[4];
        var callers = Enumerable.Range(0, 4).Select(c => Task.Run(() =>
        {
            for (int round = 0; round < 200; round++)
            {
                ForkJoin.For(8, i => Interlocked.Add(ref totals[c], i + 1));
            }
        })).ToArray();
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.All(totals, t => Assert.Equal(200 * 36, t));
    }

    [Fact]
    public void An_item_exception_reaches_the_caller_after_the_others_finish()
    {
        int finished = 0;
        var e = Assert.Throws<InvalidOperationException>(() => ForkJoin.For(16, i =>
        {
            if (i == 3)
            {
                throw new InvalidOperationException("item 3");
            }

            Thread.Sleep(1);
            Interlocked.Increment(ref finished);
        }));
        Assert.Equal("item 3", e.Message);
        Assert.Equal(15, Volatile.Read(ref finished));

        // The loop is usable again afterwards.
        var runs = new int[10];
        ForkJoin.For(10, i => runs[i]++);
        Assert.All(runs, r => Assert.Equal(1, r));
    }

    // Two items that each wait (up to 1 s) until the other has started: true when they ran on two
    // threads at once. With one thread the first item times out.
    private static bool TwoItemsMeet()
    {
        int started = 0;
        bool timedOut = false;
        ForkJoin.For(2, _ =>
        {
            Interlocked.Increment(ref started);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (Volatile.Read(ref started) < 2)
            {
                if (clock.ElapsedMilliseconds > 1000)
                {
                    timedOut = true;
                    return;
                }

                Thread.SpinWait(50);
            }
        });
        return !timedOut;
    }
}
