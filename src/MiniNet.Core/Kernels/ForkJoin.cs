// ForkJoin: the parallel loop every CPU kernel uses, with workers that spin between calls.
//
// Why not Parallel.For: its pool workers block in the kernel a few microseconds after their last
// item, and waking a blocked thread on this kind of virtual machine takes 100 µs or more. A kernel
// called after a short serial stretch (most of a training step) then ran its first 100+ µs on the
// calling thread alone: Parallel.For over two items of 100 µs took 220–250 µs after a 300 µs gap,
// 110 µs back to back. OpenMP runtimes (PyTorch's) avoid this by spinning; so does this class.
//
// How it works
// - ProcessorCount − 1 background threads, started on first use. The caller runs items too.
// - A call publishes a job (body, item count, next-item counter) and bumps a generation number;
//   workers and caller claim items with Interlocked.Increment until none are left, and the caller
//   waits for the last item to finish. Items are claimed dynamically, so an interrupted worker
//   takes fewer.
// - After its last item a worker spins (pause instructions) for SpinMicroseconds watching the
//   generation, then blocks on a monitor until the next job.
// - One job at a time: a call made while another is running (from a worker's item, or from a second
//   thread) runs its items inline on its own thread, in order.
// - The first exception an item throws is rethrown on the caller once every item has finished.

using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace MiniNet.Kernels;

/// <summary>A parallel loop over the CPU's cores with spinning workers (see the file's comment).</summary>
internal static class ForkJoin
{
    // How long an idle worker watches for the next job before it blocks. A training step's serial
    // stretches between parallel kernels are shorter than this.
    private const int SpinMicroseconds = 2000;

    private static readonly object Gate = new();
    private static readonly long SpinTicks = Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
    private static Job? s_job;
    private static long s_generation;
    private static int s_sleepers;
    private static int s_busy;
    private static bool s_started;

    /// <summary>Number of threads that run items: the caller and the workers.</summary>
    public static int Width { get; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Runs body(0) … body(count − 1), in parallel when more than one item and core.</summary>
    public static void For(int count, Action<int> body)
    {
        if (count <= 0)
        {
            return;
        }

        if (count == 1 || Width == 1 || Interlocked.CompareExchange(ref s_busy, 1, 0) != 0)
        {
            for (int i = 0; i < count; i++)
            {
                body(i);
            }

            return;
        }

        try
        {
            EnsureStarted();
            var job = new Job(body, count);
            Volatile.Write(ref s_job, job);
            Interlocked.Increment(ref s_generation);
            if (Volatile.Read(ref s_sleepers) > 0)
            {
                lock (Gate)
                {
                    Monitor.PulseAll(Gate);
                }
            }

            job.Work();
            var wait = default(SpinWait);
            while (Volatile.Read(ref job.Done) < count)
            {
                wait.SpinOnce(sleep1Threshold: -1);
            }

            job.Failure?.Throw();
        }
        finally
        {
            Volatile.Write(ref s_busy, 0);
        }
    }

    private static void EnsureStarted()
    {
        if (s_started)
        {
            return;
        }

        lock (Gate)
        {
            if (s_started)
            {
                return;
            }

            for (int w = 1; w < Width; w++)
            {
                new Thread(WorkerLoop) { IsBackground = true, Name = $"MiniNet worker {w}" }.Start();
            }

            s_started = true;
        }
    }

    private static void WorkerLoop()
    {
        long seen = Volatile.Read(ref s_generation);
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            while (Volatile.Read(ref s_generation) == seen)
            {
                if (Stopwatch.GetTimestamp() - start > SpinTicks)
                {
                    lock (Gate)
                    {
                        // The increment is a full fence: either For sees the sleeper and pulses,
                        // or this thread sees For's new generation and does not wait.
                        Interlocked.Increment(ref s_sleepers);
                        while (Volatile.Read(ref s_generation) == seen)
                        {
                            Monitor.Wait(Gate);
                        }

                        Interlocked.Decrement(ref s_sleepers);
                    }

                    break;
                }

                Thread.SpinWait(20);
            }

            seen = Volatile.Read(ref s_generation);
            Volatile.Read(ref s_job)?.Work();
        }
    }

    private sealed class Job(Action<int> body, int count)
    {
        public int Done;
        public ExceptionDispatchInfo? Failure;
        private int _next;

        // Claims and runs items until none are left. A worker that reads a job late finds no items.
        public void Work()
        {
            int i;
            while ((i = Interlocked.Increment(ref _next) - 1) < count)
            {
                try
                {
                    body(i);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref Failure, ExceptionDispatchInfo.Capture(e), null);
                }

                Interlocked.Increment(ref Done);
            }
        }
    }
}
