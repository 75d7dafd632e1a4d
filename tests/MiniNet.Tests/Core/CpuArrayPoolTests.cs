// The CPU caching pool: arrays come back once their storage is collected, Allocate zeroes a reused
// array, wrapped and host-copied arrays are never pooled, and the idle bytes cached stay bounded.
// Each test uses its own pool or a length no other test allocates, so tests may run side by side.
using System.Runtime.CompilerServices;
using MiniNet.Backends;
using MiniNet.Kernels;

namespace MiniNet.Tests.Core;

public class CpuArrayPoolTests
{
    const int Large = CpuArrayPool.MinPooledLength + 1001;

    // Rents, scribbles on the array, and lets the storage die; returns the array only to compare identity.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static float[] RentAndDrop(Func<CpuStorage> rent)
    {
        var s = rent();
        Assert.True(s.IsPooled);
        Array.Fill(s.Data, 7f);
        return s.Data;
    }

    static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    [Fact]
    public void ArrayIsReusedAfterItsStorageIsCollected_AndAllocateZeroesIt()
    {
        var pool = new CpuArrayPool(1L << 30, 1L << 30);
        var first = RentAndDrop(() => pool.Rent(Large, zero: false));
        Collect();
        Assert.Equal((long)Large * sizeof(float), pool.CachedBytes);
        var again = pool.Rent(Large, zero: true);
        Assert.Same(first, again.Data);
        Assert.All(again.Data, v => Assert.Equal(0f, v));
        Assert.Equal(0, pool.CachedBytes);
    }

    [Fact]
    public void BackendAllocateIsZeroedEvenWhenReused()
    {
        var backend = CpuBackend.Instance;
        const int length = Large + 17;
        var first = RentAndDrop(() => (CpuStorage)backend.AllocateUninitialized(length));
        Collect();
        var again = (CpuStorage)backend.Allocate(length);
        Assert.Same(first, again.Data);
        Assert.All(again.Data, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void SmallBuffersAreNotPooled()
    {
        var pool = new CpuArrayPool(1L << 30, 1L << 30);
        Assert.False(pool.Rent(CpuArrayPool.MinPooledLength - 1, zero: true).IsPooled);
        Assert.True(pool.Rent(CpuArrayPool.MinPooledLength, zero: true).IsPooled);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static float[] WrapAndDrop(int length, bool fromHost)
    {
        var array = new float[length];
        var s = fromHost ? (CpuStorage)CpuBackend.Instance.FromHost(array) : new CpuStorage(array);
        Assert.False(s.IsPooled);
        return s.Data;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void FromHostAndWrappedArraysAreNeverPooled(bool fromHost)
    {
        int length = Large + (fromHost ? 33 : 65);
        var wrapped = WrapAndDrop(length, fromHost);
        Collect();
        var rented = (CpuStorage)CpuBackend.Instance.Allocate(length);
        Assert.NotSame(wrapped, rented.Data);
    }

    [Fact]
    public void CachedBytesStayBelowTheCap()
    {
        long bytes = (long)Large * sizeof(float);
        var pool = new CpuArrayPool(2 * bytes, 1L << 30);
        DropMany(pool, 5);
        Collect();
        Assert.Equal(2 * bytes, pool.CachedBytes);
        pool.Trim();
        Assert.Equal(0, pool.CachedBytes);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void DropMany(CpuArrayPool pool, int count)
    {
        var held = new List<CpuStorage>();
        for (int i = 0; i < count; i++) held.Add(pool.Rent(Large, zero: true));
    }

    [Fact]
    public void AMissPastTheBudgetInducesACollectionThatRefillsThePool()
    {
        var pool = new CpuArrayPool(1L << 30, (long)Large * sizeof(float));
        DropMany(pool, 1);
        // Nothing collected yet: this miss is past the budget, so the pool collects and reuses.
        var s = pool.Rent(Large, zero: true);
        Assert.True(pool.InducedCollections >= 1);
        Assert.True(s.IsPooled);
    }

    [Fact]
    public void ManyStepsKeepMemoryBounded()
    {
        var pool = new CpuArrayPool(64L << 20, 32L << 20);
        for (int step = 0; step < 200; step++) DropMany(pool, 4);
        Assert.True(pool.CachedBytes <= 64L << 20);
        Assert.True(GC.GetTotalMemory(forceFullCollection: true) < 512L << 20);
    }

    [Fact]
    public void ALoopReusesAFewArraysNotAGrowingSet()
    {
        // Budget: 3 arrays. Each call's storage dies before the next; the pool must keep cycling
        // through about budget/length arrays (the cached set used to grow to the cache's cap).
        long bytes = (long)Large * sizeof(float);
        var pool = new CpuArrayPool(1L << 30, 3 * bytes);
        var seen = new HashSet<float[]>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < 100; i++) seen.Add(RentAndDrop(() => pool.Rent(Large, zero: false)));
        Assert.InRange(seen.Count, 1, 6);
        Assert.True(pool.CachedBytes <= 6 * bytes);
    }

    [Fact]
    public void CollectionsThatFindNothingBackOff()
    {
        // Every array stays alive: collections are futile, and the budget grows instead of collecting at each rent.
        var pool = new CpuArrayPool(1L << 30, (long)Large * sizeof(float));
        var held = new List<CpuStorage>();
        for (int i = 0; i < 200; i++) held.Add(pool.Rent(Large, zero: false));
        Assert.InRange(pool.InducedCollections, 1, 40);
        GC.KeepAlive(held);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(67)]
    [InlineData(1031)]
    public void ReluKernelsMatchTheNaiveOnes(int n)
    {
        var r = new System.Random(n);
        var x = Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 4 - 2)).ToArray();
        var dy = Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 4 - 2)).ToArray();
        x[0] = float.NaN;
        if (n > 2) x[1] = -0f;
        if (n > 3) x[2] = 0f;
        if (n > 4) dy[4] = float.NaN;
        float[] fast = new float[n], naive = new float[n];
        Elementwise.Relu(x, fast);
        Elementwise.ReluNaive(x, naive);
        Assert.Equal(naive.Select(BitConverter.SingleToInt32Bits), fast.Select(BitConverter.SingleToInt32Bits));
        Elementwise.ReluBackward(dy, x, fast);
        Elementwise.ReluBackwardNaive(dy, x, naive);
        Assert.Equal(naive.Select(BitConverter.SingleToInt32Bits), fast.Select(BitConverter.SingleToInt32Bits));
    }
}
