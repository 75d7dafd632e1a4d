// A caching pool for large CPU float buffers, as PyTorch's caching allocators: a step of training
// allocates the same large sizes again and again, and each fresh `new float[n]` of 85 KB or more
// lands on the large-object heap, where only a full (gen 2) collection can free it. So large
// buffers are rented here instead, in exact-length buckets.
//
// How an array comes back: at once when its storage is released (the last tensor over it disposed,
// see Storage.cs); otherwise through a small finalizable Lease that the CpuStorage holds (CpuStorage
// itself has no finalizer). When the storage becomes unreachable, so does its lease; the lease's
// finalizer returns the array to its bucket. An array is therefore reused only once the storage
// owning it can no longer be read. (Trap: a caller who copies CpuStorage.Data out and keeps it past
// the storage's lifetime must keep the storage alive too, and not dispose its tensors.)
//
// When collections run: renting from the pool allocates nothing large, so the GC may not run for a
// long time while dead storages hold their arrays; a loop would then cycle through ever more cold
// arrays (or fresh ones, which cost page faults: a fresh 6 MB array took ~2 ms to fill here, a warm
// one ~0.3 ms). So every rent counts towards a budget (CollectBudgetBytes, 32 MB by default); a rent
// that misses once the budget is spent runs a gen-1 collection (leases die young; ~0.05 ms) and waits
// for the finalizers, then a full one if that found nothing, then tries the bucket again. A loop
// therefore reuses the few arrays rented since the last collection, warm in cache, as PyTorch's
// allocator reuses the block a tensor just freed. When a collection finds nothing (a forward pass
// holding its activations), the budget doubles, up to 64×; when one finds its array, it halves back.
// Arrays returned while more than MaxCachedBytes are idle are dropped to the GC, so the memory the
// pool caches stays bounded.
namespace MiniNet.Backends;

/// <summary>Exact-length buckets of large float arrays, returned by the finalizer of their storage's lease.</summary>
public sealed class CpuArrayPool
{
    /// <summary>Arrays shorter than this (85,000 bytes, the large-object threshold) are plain <c>new float[n]</c>.</summary>
    public const int MinPooledLength = 85_000 / sizeof(float);

    /// <summary>The pool behind <see cref="CpuBackend"/>.</summary>
    public static CpuArrayPool Shared { get; } = new(DefaultMaxCachedBytes(), 32L << 20);

    readonly Lock _gate = new();
    readonly Dictionary<int, Stack<float[]>> _buckets = [];
    long _cachedBytes;
    long _rentedBytesSinceCollect;
    long _budget;
    const int MaxBudgetFactor = 64;

    /// <summary>A pool caching at most <paramref name="maxCachedBytes"/> of idle arrays, inducing a collection after <paramref name="collectBudgetBytes"/> of fresh arrays.</summary>
    public CpuArrayPool(long maxCachedBytes, long collectBudgetBytes)
    {
        MaxCachedBytes = maxCachedBytes;
        CollectBudgetBytes = collectBudgetBytes;
        _budget = collectBudgetBytes;
    }

    /// <summary>The most bytes of idle arrays kept; beyond it, returned arrays go to the GC.</summary>
    public long MaxCachedBytes { get; }
    /// <summary>Bytes rented (from the pool or fresh) after which a miss may induce a collection; the pool waits up to 64 times longer while collections find nothing.</summary>
    public long CollectBudgetBytes { get; }

    /// <summary>Bytes of idle arrays now cached.</summary>
    public long CachedBytes
    {
        get { lock (_gate) return _cachedBytes; }
    }

    /// <summary>Number of collections a missing rent has induced (for tests and diagnostics).</summary>
    public int InducedCollections { get; private set; }

    // An eighth of the memory the GC may use, at most 1 GiB.
    static long DefaultMaxCachedBytes() => Math.Min(1L << 30, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 8);

    /// <summary>
    /// A storage of <paramref name="length"/> floats; zero-filled when <paramref name="zero"/>, else with
    /// arbitrary contents (for outputs a kernel overwrites entirely).
    /// </summary>
    public CpuStorage Rent(int length, bool zero)
    {
        if (length < MinPooledLength)
            return new CpuStorage(zero ? new float[length] : GC.AllocateUninitializedArray<float>(length));
        bool budgetSpent = CountRent(length);
        var array = TryTake(length);
        if (array is null && budgetSpent && ClaimCollection())
        {
            // Young storages die young: a gen-1 collection finds most. Storages that lived through
            // an earlier collection (a forward pass's activations) need a full one.
            array = CollectAndTake(1, length) ?? CollectAndTake(GC.MaxGeneration, length);
            AdaptBudget(found: array is not null);
        }
        if (array is null) array = zero ? new float[length] : GC.AllocateUninitializedArray<float>(length);
        else if (zero)
        {
            Array.Clear(array);
        }
        return new CpuStorage(array, new Lease(this, array));
    }

    float[]? TryTake(int length)
    {
        lock (_gate)
        {
            if (!_buckets.TryGetValue(length, out var bucket) || bucket.Count == 0) return null;
            _cachedBytes -= (long)length * sizeof(float);
            return bucket.Pop();
        }
    }

    // Every rent counts towards the budget, hits too: so the arrays in use between collections (and
    // the memory a loop cycles through) stay near the budget instead of growing to the cache's cap.
    bool CountRent(int length)
    {
        lock (_gate) return (_rentedBytesSinceCollect += (long)length * sizeof(float)) >= _budget;
    }

    bool ClaimCollection()
    {
        lock (_gate)
        {
            if (_rentedBytesSinceCollect < _budget) return false; // another thread just collected
            _rentedBytesSinceCollect = 0;
            return true;
        }
    }

    // A collection that found nothing means the arrays rented are mostly alive (a forward pass holding
    // its activations): wait twice as long before the next. One that found its array shrinks the wait
    // back towards CollectBudgetBytes, so a loop reuses a few warm arrays.
    void AdaptBudget(bool found)
    {
        lock (_gate) _budget = found ? Math.Max(CollectBudgetBytes, _budget / 2) : Math.Min(MaxBudgetFactor * CollectBudgetBytes, _budget * 2);
    }

    float[]? CollectAndTake(int generation, int length)
    {
        GC.Collect(generation, GCCollectionMode.Forced, blocking: true);
        GC.WaitForPendingFinalizers();
        lock (_gate) InducedCollections++;
        return TryTake(length);
    }

    void Return(float[] array)
    {
        long bytes = (long)array.Length * sizeof(float);
        lock (_gate)
        {
            if (_cachedBytes + bytes > MaxCachedBytes) return;
            if (!_buckets.TryGetValue(array.Length, out var bucket)) _buckets[array.Length] = bucket = new Stack<float[]>();
            bucket.Push(array);
            _cachedBytes += bytes;
        }
    }

    /// <summary>Drops every cached array (they go to the GC).</summary>
    public void Trim()
    {
        lock (_gate)
        {
            _buckets.Clear();
            _cachedBytes = 0;
        }
    }

    /// <summary>Held only by the storage that owns a rented array; returns the array once, when the storage is released or collected.</summary>
    internal sealed class Lease(CpuArrayPool pool, float[] array) : IDisposable
    {
        int _returned;

        ~Lease() => Return();

        // The storage was released (its last tensor disposed): the array goes back now, warm in cache.
        public void Dispose()
        {
            Return();
            GC.SuppressFinalize(this);
        }

        void Return()
        {
            if (Interlocked.Exchange(ref _returned, 1) == 0) pool.Return(array);
        }
    }
}
