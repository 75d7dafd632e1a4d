// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian magic
// 00 00 08 <ndim> (08 = unsigned byte), ndim big-endian int32 sizes, then the bytes row-major.
// Images have 3 dimensions [N, rows, cols], labels 1 [N]. Files may be gzipped (detected by the
// magic 1f 8b, not the name). Reading checks the magic, the sizes against the file length, image and
// label counts, and the label range; each error names the file and what was expected.
using System.Buffers.Binary;

namespace MiniNet.Data;

/// <summary>Images read from an IDX file: <see cref="Pixels"/> is [Count, Rows, Cols] bytes.</summary>
/// <param name="Pixels">The pixels, [Count, Rows, Cols] row-major.</param>
/// <param name="Count">The number of images.</param>
/// <param name="Rows">The image height.</param>
/// <param name="Cols">The image width.</param>
public readonly record struct IdxImages(byte[] Pixels, int Count, int Rows, int Cols);

/// <summary>Reads and writes IDX files (MNIST's format), gzipped or not.</summary>
public static class Idx
{
    const int ImagesMagic = 0x00000803, LabelsMagic = 0x00000801;

    /// <summary>Reads an image file (magic 0x00000803: unsigned bytes, [N, rows, cols]).</summary>
    /// <exception cref="DataFileException">The file is not such a file, or is truncated.</exception>
    public static IdxImages ReadImages(string path)
    {
        var (dims, data) = Read(path, ImagesMagic, "images [N, rows, cols]");
        return new IdxImages(data, dims[0], dims[1], dims[2]);
    }

    /// <summary>Reads a label file (magic 0x00000801: unsigned bytes, [N]).</summary>
    /// <exception cref="DataFileException">The file is not such a file, or is truncated.</exception>
    public static byte[] ReadLabels(string path) => Read(path, LabelsMagic, "labels [N]").Data;

    /// <summary>
    /// Reads an image file and its label file as one data set of [N, 1, rows, cols] images, checking that the counts agree
    /// and that every label is below <paramref name="numClasses"/>.
    /// </summary>
    /// <exception cref="DataFileException">A file is corrupt, or the two disagree.</exception>
    public static ImageDataset Load(string name, string imagesPath, string labelsPath, int numClasses = 10)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numClasses);
        var images = ReadImages(imagesPath);
        var labelBytes = ReadLabels(labelsPath);
        if (labelBytes.Length != images.Count)
            throw new DataFileException(
                $"{imagesPath} holds {images.Count} images but {labelsPath} holds {labelBytes.Length} labels; expected one label per image (mismatched or truncated files).",
                imagesPath, labelsPath);
        var labels = new int[labelBytes.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            labels[i] = labelBytes[i];
            if (labels[i] >= numClasses)
                throw new DataFileException($"{labelsPath}: label {labels[i]} at index {i} is not a class of {name}; expected a label in [0, {numClasses}).", labelsPath);
        }
        return new ImageDataset(name, images.Pixels, labels, 1, images.Rows, images.Cols, numClasses);
    }

    /// <summary>Writes <paramref name="count"/> images of <paramref name="rows"/> × <paramref name="cols"/> bytes as an IDX image file (gzipped when asked).</summary>
    public static void WriteImages(string path, byte[] images, int count, int rows, int cols, bool gzip = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(images);
        if (count < 0 || rows <= 0 || cols <= 0 || images.Length != (long)count * rows * cols)
            throw new ArgumentException($"Idx.WriteImages: {images.Length} bytes for {count} images of {rows} × {cols}; expected count × rows × cols = {(long)count * rows * cols} bytes and positive sizes.", nameof(images));
        Write(path, ImagesMagic, [count, rows, cols], images, gzip);
    }

    /// <summary>Writes one byte per label as an IDX label file (gzipped when asked).</summary>
    public static void WriteLabels(string path, byte[] labels, bool gzip = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(labels);
        Write(path, LabelsMagic, [labels.Length], labels, gzip);
    }

    static void Write(string path, int magic, int[] dims, byte[] data, bool gzip)
    {
        int header = 4 + 4 * dims.Length;
        var content = new byte[header + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(content, magic);
        for (int d = 0; d < dims.Length; d++) BinaryPrimitives.WriteInt32BigEndian(content.AsSpan(4 + 4 * d), dims[d]);
        data.CopyTo(content, header);
        DataFiles.WriteAtomically(path, content, gzip);
    }

    // Parses an unsigned-byte IDX file with the given magic; what describes it for messages.
    static (int[] Dims, byte[] Data) Read(string path, int magic, string what)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes = DataFiles.ReadAll(path);
        int ndim = magic & 0xff, header = 4 + 4 * ndim;
        string expected = $"IDX {what}, magic 0x{magic:X8}";
        if (bytes.Length >= 4 && BinaryPrimitives.ReadInt32BigEndian(bytes) is int found && found != magic)
            throw new DataFileException($"{path}: magic number 0x{found:X8}; expected {expected}.{MagicHint(found, magic)}", path);
        if (bytes.Length < header)
            throw new DataFileException($"{path}: {bytes.Length} bytes (after decompression) is shorter than the {header}-byte header of {expected}; the file is truncated or not an IDX file.", path);
        var dims = new int[ndim];
        long size = 1;
        for (int d = 0; d < ndim; d++)
        {
            dims[d] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * d));
            if (dims[d] <= 0)
                throw new DataFileException($"{path}: header gives size {dims[d]} for dimension {d} of {what}; expected positive sizes.", path);
            size *= dims[d];
            if (size > Array.MaxLength)
                throw new DataFileException($"{path}: header sizes [{string.Join(", ", dims[..(d + 1)])}] exceed the largest array; the header is corrupt.", path);
        }
        long actual = bytes.Length - header;
        if (actual != size)
            throw new DataFileException(
                $"{path}: header says [{string.Join(", ", dims)}] = {size} bytes of data after the {header}-byte header, but the file holds {actual}; {(actual < size ? "the file is truncated" : "the file has trailing bytes")}.",
                path);
        return (dims, bytes.AsSpan(header).ToArray());
    }

    static string MagicHint(int found, int magic) => found switch
    {
        ImagesMagic or LabelsMagic when found != magic => found == ImagesMagic ? " This is an image file, not a label file." : " This is a label file, not an image file.",
        _ when (found >> 16) == 0 && ((found >> 8) & 0xff) != 0x08 => " Only unsigned-byte (type 0x08) IDX data is supported.",
        _ => "",
    };
}
