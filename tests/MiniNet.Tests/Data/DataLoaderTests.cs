// DataLoader: batch counts and sizes with and without dropLast; order fixed by (seed, epoch), a new
// permutation per epoch with every sample exactly once; Epoch's increment and reset; normalisation
// values (torchvision's); crop-with-padding and flip against a naive pad-crop-mirror reference, and
// augmentation that is deterministic per (seed, epoch) and reaches every crop and both flips.
using MiniNet.Data;

namespace MiniNet.Tests.Data;

public class DataLoaderTests
{
    // n images of [1, 1, 2] whose pixels are (i, 255 − i), label i % 10: a batch shows which samples it holds.
    static ImageDataset Indexed(int n)
    {
        var images = new byte[n * 2];
        for (int i = 0; i < n; i++) (images[2 * i], images[2 * i + 1]) = ((byte)i, (byte)(255 - i));
        return new ImageDataset("indexed", images, [.. Enumerable.Range(0, n).Select(i => i % 10)], 1, 1, 2, 10);
    }

    // The sample indices of a batch of Indexed images (loaded without normalisation: value = byte / 255).
    static int[] Indices(Batch batch)
    {
        var x = batch.Inputs.ToArray();
        var indices = new int[x.Length / 2];
        for (int k = 0; k < indices.Length; k++)
        {
            indices[k] = (int)Math.Round(x[2 * k] * 255);
            Assert.Equal(x[2 * k + 1], (255 - indices[k]) / 255f);
            Assert.Equal(indices[k] % 10, batch.Targets[k]);
        }
        return indices;
    }

    static int[] EpochOrder(DataLoader loader) => [.. loader.SelectMany(Indices)];

    [Theory]
    [InlineData(10, 4, false, new[] { 4, 4, 2 })]
    [InlineData(10, 4, true, new[] { 4, 4 })]
    [InlineData(12, 4, false, new[] { 4, 4, 4 })]
    [InlineData(12, 4, true, new[] { 4, 4, 4 })]
    [InlineData(3, 4, false, new[] { 3 })]
    [InlineData(3, 4, true, new int[0])]
    [InlineData(0, 4, false, new int[0])]
    public void Count_AndBatchShapes_RespectDropLast(int n, int batchSize, bool dropLast, int[] sizes)
    {
        var loader = new DataLoader(Indexed(n), batchSize, shuffle: true, seed: 1, dropLast: dropLast);
        Assert.Equal(sizes.Length, loader.Count);
        var batches = loader.ToList();
        Assert.Equal(sizes, batches.Select(b => b.Targets.Length));
        Assert.All(batches, b => Assert.Equal([b.Targets.Length, 1, 1, 2], b.Inputs.Shape));
        Assert.All(batches, b => Assert.False(b.Inputs.RequiresGrad));
        Assert.Equal(4, loader.BatchSize);
    }

    [Fact]
    public void NoShuffle_VisitsSamplesInOrder()
    {
        var loader = new DataLoader(Indexed(10), 3);
        Assert.Equal(Enumerable.Range(0, 10), EpochOrder(loader));
        Assert.Equal(Enumerable.Range(0, 10), EpochOrder(loader));
        Assert.Equal(2, loader.Epoch);
    }

    [Fact]
    public void Shuffle_EachEpochIsAPermutation_FixedBySeedAndEpoch()
    {
        var dataset = Indexed(200);
        var loader = new DataLoader(dataset, 16, shuffle: true, seed: 7);
        Assert.Equal(0, loader.Epoch);
        int[] epoch0 = EpochOrder(loader);
        Assert.Equal(1, loader.Epoch);
        int[] epoch1 = EpochOrder(loader);
        Assert.Equal(2, loader.Epoch);

        Assert.Equal(Enumerable.Range(0, 200), epoch0.Order());
        Assert.Equal(Enumerable.Range(0, 200), epoch1.Order());
        Assert.NotEqual(Enumerable.Range(0, 200), epoch0);
        Assert.NotEqual(epoch0, epoch1);

        // Same seed and epoch → same order, whether from a fresh loader, a reset Epoch, or Order().
        Assert.Equal(epoch0, EpochOrder(new DataLoader(dataset, 16, shuffle: true, seed: 7)));
        loader.Epoch = 1;
        Assert.Equal(epoch1, EpochOrder(loader));
        Assert.Equal(epoch1, loader.Order(1));
        // A different seed → a different order; the batch size does not change the order.
        Assert.NotEqual(epoch0, EpochOrder(new DataLoader(dataset, 16, shuffle: true, seed: 8)));
        Assert.Equal(epoch0, EpochOrder(new DataLoader(dataset, 7, shuffle: true, seed: 7)));
    }

    [Fact]
    public void DropLast_SkipsTheTailOfThePermutation()
    {
        var loader = new DataLoader(Indexed(10), 4, shuffle: true, seed: 3, dropLast: true);
        int[] order = loader.Order(0);
        Assert.Equal(order[..8], EpochOrder(loader));
    }

    [Fact]
    public void Epoch_IsTakenWhenEnumerationStarts()
    {
        var loader = new DataLoader(Indexed(20), 5, shuffle: true, seed: 1);
        using var first = loader.GetEnumerator();
        Assert.Equal(1, loader.Epoch);
        using var second = loader.GetEnumerator();
        Assert.Equal(2, loader.Epoch);
        Assert.True(second.MoveNext());
        Assert.True(first.MoveNext());
        Assert.Equal(loader.Order(0)[..5], Indices(first.Current));
        Assert.Equal(loader.Order(1)[..5], Indices(second.Current));
        Assert.Throws<ArgumentOutOfRangeException>(() => loader.Epoch = -1);
    }

    [Fact]
    public void Normalize_MatchesTorchvisionValues()
    {
        var dataset = new ImageDataset("bytes", [0, 128, 255], [0], 1, 1, 3, 1);
        float[] Load(Normalize? normalize) => new DataLoader(dataset, 1, normalize: normalize).First().Inputs.ToArray();

        // ToTensor: b / 255.
        Assert.Equal([0f, 128 / 255f, 1f], Load(null));
        // torchvision: ToTensor then Normalize((0.1307,), (0.3081,)).
        var mnist = Load(Normalize.Mnist);
        Assert.Equal(-0.42421296, mnist[0], 1e-6);
        Assert.Equal((128 / 255.0 - 0.1307) / 0.3081, mnist[1], 1e-6);
        Assert.Equal(2.8214867, mnist[2], 1e-6);
        var fashion = Load(Normalize.FashionMnist);
        Assert.Equal((1 - 0.2860) / 0.3530, fashion[2], 1e-6);
    }

    [Fact]
    public void Normalize_IsPerChannel()
    {
        // One image [3, 1, 2]: channel c holds (10c, 255 − 10c).
        var dataset = new ImageDataset("rgb", [0, 255, 10, 245, 20, 235], [0], 3, 1, 2, 1);
        var x = new DataLoader(dataset, 1, normalize: Normalize.Cifar10).First().Inputs.ToArray();
        float[] mean = [0.4914f, 0.4822f, 0.4465f], std = [0.2470f, 0.2435f, 0.2616f];
        for (int c = 0; c < 3; c++)
        {
            Assert.Equal((10 * c / 255f - mean[c]) / std[c], x[2 * c]);
            Assert.Equal(((255 - 10 * c) / 255f - mean[c]) / std[c], x[2 * c + 1]);
        }
        // One mean and std serve every channel.
        var shared = new DataLoader(dataset, 1, normalize: new Normalize([0.5f], [0.25f])).First().Inputs.ToArray();
        Assert.Equal((20 / 255f - 0.5f) / 0.25f, shared[4]);
    }

    [Fact]
    public void Constructor_RefusesBadArguments()
    {
        var rgb = new ImageDataset("rgb", new byte[3], [0], 3, 1, 1, 1);
        var e = Assert.Throws<ArgumentException>(() => new DataLoader(rgb, 1, normalize: Normalize.Mnist with { Mean = [0.1f, 0.2f], Std = [1, 1] }));
        Assert.Contains("2 means and 2 stds for dataset 'rgb' with 3 channel(s); expected 3 of each (or 1 for all channels)", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new DataLoader(rgb, 1, normalize: new Normalize([0f], [0f])));
        Assert.Throws<ArgumentException>(() => new DataLoader(rgb, 1, normalize: new Normalize([0f], [float.NaN])));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(rgb, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(rgb, 1, augment: new Augment(-1)));
        Assert.Throws<ArgumentNullException>(() => new DataLoader(null!, 1));
    }

    // ---- augmentation ----

    // The naive reference: pad each channel with `pad` zeros, take the h × w window at (pad + top, pad + left), mirror it if asked.
    static byte[] PadCropFlip(byte[] image, int channels, int h, int w, int pad, int top, int left, bool flip)
    {
        int ph = h + 2 * pad, pw = w + 2 * pad;
        var padded = new byte[channels * ph * pw];
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++)
                    padded[(c * ph + i + pad) * pw + j + pad] = image[(c * h + i) * w + j];
        var result = new byte[channels * h * w];
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++)
                    result[(c * h + i) * w + (flip ? w - 1 - j : j)] = padded[(c * ph + i + pad + top) * pw + j + pad + left];
        return result;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]  // more padding than the image is wide: some crops are all padding
    public void CropFlipLookup_MatchesPadCropMirror(int pad)
    {
        const int c = 2, h = 3, w = 4;
        byte[] image = [.. Enumerable.Range(1, c * h * w).Select(i => (byte)(i * 7))];
        float[] table = [.. Enumerable.Range(0, c * 256).Select(i => i + 0.5f)];  // channel c, byte b → 256c + b + 0.5
        var y = new float[c * h * w];
        for (int top = -pad; top <= pad; top++)
            for (int left = -pad; left <= pad; left++)
                foreach (bool flip in new[] { false, true })
                {
                    DataLoader.CropFlipLookup(image, c, h, w, top, left, flip, table, y);
                    var expected = PadCropFlip(image, c, h, w, pad, top, left, flip);
                    for (int k = 0; k < y.Length; k++) Assert.Equal(256 * (k / (h * w)) + expected[k] + 0.5f, y[k]);
                }
    }

    [Fact]
    public void Augment_EachSampleIsOneOfItsCropsAndFlips_AndEveryOneOccurs()
    {
        const int pad = 1, h = 2, w = 3;
        byte[] image = [10, 20, 30, 40, 50, 60];
        var dataset = new ImageDataset("tiny", [.. Enumerable.Repeat(image, 50).SelectMany(b => b)], new int[50], 1, h, w, 1);
        var candidates = new List<byte[]>();
        for (int top = -pad; top <= pad; top++)
            for (int left = -pad; left <= pad; left++)
                foreach (bool flip in new[] { false, true })
                    candidates.Add(PadCropFlip(image, 1, h, w, pad, top, left, flip));

        var loader = new DataLoader(dataset, 8, shuffle: true, seed: 5, augment: new Augment(pad, HorizontalFlip: true));
        var seen = new int[candidates.Count];
        for (int epoch = 0; epoch < 8; epoch++)
        {
            foreach (var batch in loader)
            {
                var x = batch.Inputs.ToArray();
                for (int k = 0; k < batch.Targets.Length; k++)
                {
                    byte[] sample = [.. x.AsSpan(k * h * w, h * w).ToArray().Select(v => (byte)Math.Round(v * 255))];
                    int match = candidates.FindIndex(cand => cand.SequenceEqual(sample));
                    Assert.True(match >= 0, $"sample {string.Join(",", sample)} is no crop/flip of the image");
                    seen[match]++;
                }
            }
        }
        // 400 draws over 18 equally likely outcomes (about 22 each): every one occurs, and about half are flipped.
        Assert.All(seen, count => Assert.InRange(count, 5, 50));
        int flipped = seen.Where((_, i) => i % 2 == 1).Sum();
        Assert.InRange(flipped, 160, 240);
    }

    [Fact]
    public void Augment_IsFixedBySeedAndEpoch()
    {
        var random = new Random(1);
        var images = new byte[40 * 3 * 8 * 8];
        random.NextBytes(images);
        var dataset = new ImageDataset("rgb", images, new int[40], 3, 8, 8, 1);
        DataLoader Make(long seed) => new(dataset, 16, shuffle: true, seed: seed, normalize: Normalize.Cifar10, augment: Augment.Cifar10);
        float[] Epoch(DataLoader loader, int epoch)
        {
            loader.Epoch = epoch;
            return [.. loader.SelectMany(b => b.Inputs.ToArray())];
        }
        var loader = Make(1);
        float[] e0 = Epoch(loader, 0), e1 = Epoch(loader, 1);
        Assert.Equal(e0, Epoch(loader, 0));
        Assert.Equal(e0, Epoch(Make(1), 0));
        Assert.NotEqual(e0, e1);
        Assert.NotEqual(e0, Epoch(Make(2), 0));
        // Without shuffling the augmentation still changes with the epoch, and padding shows as the normalised zero.
        var ordered = new DataLoader(dataset, 40, normalize: Normalize.Cifar10, augment: new Augment(4));
        float[] o0 = [.. ordered.First().Inputs.ToArray()], o1 = [.. ordered.First().Inputs.ToArray()];
        Assert.NotEqual(o0, o1);
        Assert.Contains(-0.4914f / 0.2470f, o0);
    }

    [Fact]
    public void Augment_ThatDoesNothing_EqualsNoAugment()
    {
        var dataset = Indexed(30);
        var plain = new DataLoader(dataset, 7, shuffle: true, seed: 2);
        var noop = new DataLoader(dataset, 7, shuffle: true, seed: 2, augment: new Augment());
        Assert.Null(noop.Augment);
        Assert.Equal(plain.SelectMany(b => b.Inputs.ToArray()), noop.SelectMany(b => b.Inputs.ToArray()));
    }

    [Fact]
    public void Subset_LoadsOnlyItsRange()
    {
        var loader = new DataLoader(Indexed(30).Subset(10, 5), 2, shuffle: true, seed: 4);
        Assert.Equal(Enumerable.Range(10, 5), EpochOrder(loader).Order());
    }
}
