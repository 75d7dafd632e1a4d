// DataLoader: batches of an ImageDataset as float32 tensors [B, C, H, W] plus int targets, as
// torch.utils.data.DataLoader over a torchvision data set with ToTensor/Normalize (and RandomCrop/
// RandomHorizontalFlip when Augment is given).
// Determinism: an enumeration's order and augmentation depend only on (seed, epoch): the permutation
// comes from a Generator seeded from (seed, epoch), and sample k of the epoch draws its crop and flip
// from a Generator reseeded from (seed, epoch, k). GetEnumerator takes the current Epoch and then
// increments it, so plain foreach loops see a new order each time, and a trainer that sets Epoch
// before each epoch (a resumed run) sees exactly the order it would have seen.
// Cost: one float tensor and one int array per batch; each pixel is one table lookup (byte → float for
// its channel, normalisation folded in), rows are copied with their padding and flip resolved up front.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MiniNet.Backends;

namespace MiniNet.Data;

/// <summary>A batch: inputs [B, C, H, W] float32 (normalised) and the class index of each sample.</summary>
/// <param name="Inputs">The images, [B, C, H, W] float32 on the CPU.</param>
/// <param name="Targets">The labels, one per image, each in [0, NumClasses).</param>
public readonly record struct Batch(Tensor Inputs, int[] Targets);

/// <summary>
/// Iterates over an <see cref="ImageDataset"/> in batches, as <c>torch.utils.data.DataLoader</c>: optionally shuffled
/// (a fresh permutation per epoch), optionally dropping the last incomplete batch, normalising and augmenting each sample.
/// </summary>
public sealed class DataLoader : IEnumerable<Batch>
{
    // Distinct random streams drawn from the same (seed, epoch).
    const ulong ShuffleStream = 1, AugmentStream = 2;

    readonly float[] _table; // [C, 256]: byte → normalised float, per channel
    int _epoch;
    int _touched; // keeps TouchImages' reads alive

    /// <summary>Creates a loader.</summary>
    /// <param name="dataset">The images and labels.</param>
    /// <param name="batchSize">Samples per batch (≥ 1).</param>
    /// <param name="shuffle">Visit the samples in a new random order each epoch.</param>
    /// <param name="seed">Seeds the permutation and the augmentation (together with <see cref="Epoch"/>).</param>
    /// <param name="dropLast">Skip the last batch when it would be smaller than <paramref name="batchSize"/>.</param>
    /// <param name="normalize">Per-channel normalisation; null gives x/255 in [0, 1] (torchvision's <c>ToTensor</c>).</param>
    /// <param name="augment">Random crop and flip per sample; null for none (evaluation).</param>
    public DataLoader(ImageDataset dataset, int batchSize, bool shuffle = false, long seed = 0, bool dropLast = false, Normalize? normalize = null, Augment? augment = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (batchSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"DataLoader: batchSize must be positive, got {batchSize}.");
        if (augment is not null && augment.CropPadding < 0)
            throw new ArgumentOutOfRangeException(nameof(augment), $"DataLoader: Augment.CropPadding must be ≥ 0, got {augment.CropPadding}.");
        _table = normalize is null ? Normalize.ToTensorTable(dataset.Channels) : normalize.LookupTable(dataset.Channels, dataset.Name);
        Dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        DropLast = dropLast;
        Normalize = normalize;
        Augment = augment is { CropPadding: 0, HorizontalFlip: false } ? null : augment;
    }

    /// <summary>The data set being iterated.</summary>
    public ImageDataset Dataset { get; }

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch visits the samples in a new random order.</summary>
    public bool Shuffle { get; }

    /// <summary>The seed of the permutation and augmentation.</summary>
    public long Seed { get; }

    /// <summary>Whether the last incomplete batch is skipped.</summary>
    public bool DropLast { get; }

    /// <summary>The normalisation applied, or null (x/255).</summary>
    public Normalize? Normalize { get; }

    /// <summary>The augmentation applied, or null.</summary>
    public Augment? Augment { get; }

    /// <summary>Batches per epoch: ⌊N / B⌋ with <see cref="DropLast"/>, else ⌈N / B⌉.</summary>
    public int Count => DropLast ? Dataset.Count / BatchSize : (int)(((long)Dataset.Count + BatchSize - 1) / BatchSize);

    /// <summary>
    /// The epoch the next enumeration uses (from 0). Starting an enumeration uses the current value and then increments it;
    /// set it before each epoch to reproduce an epoch's order and augmentation (for example when resuming).
    /// </summary>
    public int Epoch
    {
        get => _epoch;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _epoch = value;
        }
    }

    /// <summary>Starts an epoch: uses <see cref="Epoch"/> and increments it.</summary>
    public IEnumerator<Batch> GetEnumerator()
    {
        int epoch = _epoch;
        _epoch = epoch + 1;
        return Enumerate(epoch);
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The order in which epoch <paramref name="epoch"/> visits the samples (the identity without shuffling).</summary>
    public int[] Order(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        int n = Dataset.Count;
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        if (!Shuffle) return order;
        var generator = new Generator(MixSeed(Seed, epoch, 0, ShuffleStream));
        for (int i = n - 1; i > 0; i--)
        {
            int j = generator.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    IEnumerator<Batch> Enumerate(int epoch)
    {
        int[] order = Order(epoch);
        var generator = new Generator(0);
        int batches = Count;
        for (int b = 0; b < batches; b++)
        {
            int start = b * BatchSize, size = Math.Min(BatchSize, order.Length - start);
            yield return MakeBatch(order.AsSpan(start, size), epoch, start, generator);
        }
    }

    // Builds the batch of the samples order[0..] that sit at epoch positions firstPosition, firstPosition + 1, ...
    Batch MakeBatch(ReadOnlySpan<int> indices, int epoch, int firstPosition, Generator generator)
    {
        var ds = Dataset;
        int c = ds.Channels, h = ds.Height, w = ds.Width, imageSize = ds.ImageSize;
        var inputs = Tensor.Zeros(indices.Length, c, h, w);
        if (inputs.Storage is not CpuStorage { Data: var data })
            throw new InvalidOperationException("DataLoader: expected Tensor.Zeros to give CPU storage.");
        var targets = new int[indices.Length];
        ReadOnlySpan<byte> images = ds.ImageSpan;
        ReadOnlySpan<int> labels = ds.LabelSpan;
        _touched += TouchImages(images, indices, imageSize);
        for (int k = 0; k < indices.Length; k++)
        {
            int index = indices[k];
            targets[k] = labels[index];
            var source = images.Slice(index * imageSize, imageSize);  // [C, H, W]
            var destination = data.AsSpan(k * imageSize, imageSize);  // [C, H, W]
            if (Augment is null)
            {
                Lookup(source, c, h * w, _table, destination);
                continue;
            }
            generator.Seed(MixSeed(Seed, epoch, firstPosition + k, AugmentStream));
            int pad = Augment.CropPadding;
            int top = pad == 0 ? 0 : generator.NextInt(2 * pad + 1) - pad;  // crop origin in the unpadded image
            int left = pad == 0 ? 0 : generator.NextInt(2 * pad + 1) - pad;
            bool flip = Augment.HorizontalFlip && (generator.NextUInt64() >> 63) != 0;
            CropFlipLookup(source, c, h, w, top, left, flip, _table, destination);
        }
        return new Batch(inputs, targets);
    }

    // Reads one byte of each 64-byte line of the batch's images. These loads do not depend on each other, so their
    // cache misses overlap, and the lookups then read from cache: a shuffled batch would otherwise stall on each image.
    static int TouchImages(ReadOnlySpan<byte> images, ReadOnlySpan<int> indices, int imageSize)
    {
        int sum = 0;
        foreach (int index in indices)
        {
            var image = images.Slice(index * imageSize, imageSize);
            for (int offset = 0; offset < image.Length; offset += 64) sum += image[offset];
        }
        return sum;
    }

    // y[c, p] = table[c, x[c, p]] for each channel c and pixel p.
    internal static void Lookup(ReadOnlySpan<byte> x, int channels, int plane, ReadOnlySpan<float> table, Span<float> y)
    {
        for (int ch = 0; ch < channels; ch++)
            LookupRow(x.Slice(ch * plane, plane), table.Slice(ch * 256, 256), y.Slice(ch * plane, plane));
    }

    // y[j] = lut[x[j]]. lut has 256 entries, so every byte indexes it: the lookup skips the bounds check.
    static void LookupRow(ReadOnlySpan<byte> x, ReadOnlySpan<float> lut, Span<float> y)
    {
        if (lut.Length != 256 || y.Length != x.Length)
            throw new ArgumentException($"DataLoader: lookup of {x.Length} bytes into {y.Length} floats with a {lut.Length}-entry table; expected equal lengths and 256 entries.");
        ref float table = ref MemoryMarshal.GetReference(lut);
        for (int j = 0; j < x.Length; j++) y[j] = Unsafe.Add(ref table, x[j]);
    }

    // y[c, i, j] = table[c, x[c, i + top, jj + left]] with jj = (flip ? w − 1 − j : j), and table[c, 0] (a zero pixel)
    // where that source pixel lies outside the image: the crop at (top + pad, left + pad) of the zero-padded image,
    // then the mirror. top and left are in [−pad, pad].
    internal static void CropFlipLookup(ReadOnlySpan<byte> x, int channels, int h, int w, int top, int left, bool flip, ReadOnlySpan<float> table, Span<float> y)
    {
        // Output columns j whose source column j + left is inside [0, w) (before the mirror).
        int j0 = Math.Max(0, -left), j1 = Math.Min(w, w - left);
        for (int ch = 0; ch < channels; ch++)
        {
            var lut = table.Slice(ch * 256, 256);
            float zero = lut[0];
            for (int i = 0; i < h; i++)
            {
                var row = y.Slice((ch * h + i) * w, w);
                int si = i + top;
                if (si < 0 || si >= h || j0 >= j1)
                {
                    row.Fill(zero);
                    continue;
                }
                var src = x.Slice((ch * h + si) * w, w);
                if (!flip)
                {
                    row[..j0].Fill(zero);
                    LookupRow(src[(j0 + left)..(j1 + left)], lut, row[j0..j1]);
                    row[j1..].Fill(zero);
                }
                else
                {
                    // Output column w − 1 − j holds unmirrored column j.
                    row[(w - j0)..].Fill(zero);
                    for (int j = j0; j < j1; j++) row[w - 1 - j] = lut[src[j + left]];
                    row[..(w - j1)].Fill(zero);
                }
            }
        }
    }

    // A 64-bit seed from (seed, epoch, position, stream), each step a SplitMix64 finaliser, so nearby inputs give unrelated seeds.
    internal static long MixSeed(long seed, long epoch, long position, ulong stream)
    {
        ulong hash = Finalise(unchecked((ulong)seed + stream * 0x9E3779B97F4A7C15UL));
        hash = Finalise(hash ^ unchecked((ulong)epoch + 0x632BE59BD9B4E019UL));
        hash = Finalise(hash ^ unchecked((ulong)position + 0xD6E8FEB86659FD93UL));
        return unchecked((long)hash);
    }

    static ulong Finalise(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
