// ImageDataset: N labelled images held in memory as bytes 0..255 (torchvision's uint8 data), laid out
// [N, C, H, W] row-major, with one int label in [0, NumClasses) per image. The constructor checks the
// sizes and every label; Subset is a view that shares the buffers (no copy). The dataset takes the
// arrays it is given without copying them: do not change them afterwards.
namespace MiniNet.Data;

/// <summary>In-memory labelled images, stored as bytes 0..255 with layout [N, C, H, W].</summary>
public sealed class ImageDataset
{
    readonly ReadOnlyMemory<byte> _images; // [N, C, H, W]
    readonly ReadOnlyMemory<int> _labels;  // [N]

    /// <summary>
    /// Wraps <paramref name="images"/> ([N, C, H, W] bytes, N = <c>labels.Length</c>) and <paramref name="labels"/>
    /// (each in [0, <paramref name="numClasses"/>)). The arrays are taken, not copied: do not change them afterwards.
    /// </summary>
    /// <exception cref="ArgumentException">The sizes disagree or a label is out of range.</exception>
    public ImageDataset(string name, byte[] images, int[] labels, int channels, int height, int width, int numClasses)
        : this(name, (ReadOnlyMemory<byte>)Checked(name, images, labels, channels, height, width, numClasses), (ReadOnlyMemory<int>)labels, channels, height, width, numClasses)
    {
    }

    // A view over checked buffers (the public constructor, Subset).
    ImageDataset(string name, ReadOnlyMemory<byte> images, ReadOnlyMemory<int> labels, int channels, int height, int width, int numClasses)
    {
        Name = name;
        Channels = channels;
        Height = height;
        Width = width;
        NumClasses = numClasses;
        _images = images;
        _labels = labels;
    }

    // Checks the sizes and every label; returns the images.
    static byte[] Checked(string name, byte[] images, int[] labels, int channels, int height, int width, int numClasses)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (channels <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"ImageDataset '{name}': channels, height and width must be positive, got C={channels}, H={height}, W={width}.");
        if (numClasses <= 0)
            throw new ArgumentOutOfRangeException(nameof(numClasses), $"ImageDataset '{name}': numClasses must be positive, got {numClasses}.");
        long expected = (long)labels.Length * channels * height * width;
        if (images.Length != expected)
            throw new ArgumentException(
                $"ImageDataset '{name}': {labels.Length} labels of [C, H, W] = [{channels}, {height}, {width}] need {expected} image bytes, but got {images.Length}.",
                nameof(images));
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)numClasses)
                throw new ArgumentException($"ImageDataset '{name}': label {labels[i]} at index {i} is outside [0, {numClasses}).", nameof(labels));
        }
        return images;
    }

    /// <summary>A name for messages and logs (for example "MNIST train").</summary>
    public string Name { get; }

    /// <summary>The number of images N.</summary>
    public int Count => _labels.Length;

    /// <summary>C, the number of channels per image.</summary>
    public int Channels { get; }

    /// <summary>H, the image height in pixels.</summary>
    public int Height { get; }

    /// <summary>W, the image width in pixels.</summary>
    public int Width { get; }

    /// <summary>The number of classes K; every label is in [0, K).</summary>
    public int NumClasses { get; }

    /// <summary>C × H × W, the bytes per image.</summary>
    public int ImageSize => Channels * Height * Width;

    /// <summary>All pixels, [N, C, H, W], bytes 0..255.</summary>
    public ReadOnlyMemory<byte> Images => _images;

    /// <summary>The label of each image.</summary>
    public IReadOnlyList<int> Labels => new LabelList(_labels);

    internal ReadOnlySpan<byte> ImageSpan => _images.Span;

    internal ReadOnlySpan<int> LabelSpan => _labels.Span;

    /// <summary>The pixels of image <paramref name="index"/>, [C, H, W].</summary>
    public ReadOnlyMemory<byte> Image(int index)
    {
        CheckIndex(index);
        return _images.Slice(index * ImageSize, ImageSize);
    }

    /// <summary>The images [start, start + count) as a dataset sharing this one's buffers.</summary>
    public ImageDataset Subset(int start, int count)
    {
        if (start < 0 || count < 0 || start > Count - count)
            throw new ArgumentOutOfRangeException(nameof(start), $"ImageDataset '{Name}'.Subset: [{start}, {start}+{count}) is not within [0, {Count}).");
        return new ImageDataset($"{Name}[{start}..{start + count})", _images.Slice(start * ImageSize, count * ImageSize),
            _labels.Slice(start, count), Channels, Height, Width, NumClasses);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {Count} images [{Channels}, {Height}, {Width}], {NumClasses} classes";

    void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), $"ImageDataset '{Name}': index {index} is outside [0, {Count}).");
    }

    // A read-only list over the labels that cannot be cast back to a writable array.
    sealed class LabelList(ReadOnlyMemory<int> labels) : IReadOnlyList<int>
    {
        public int this[int index] => labels.Span[index];

        public int Count => labels.Length;

        public IEnumerator<int> GetEnumerator()
        {
            for (int i = 0; i < labels.Length; i++) yield return labels.Span[i];
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
