// CIFAR-10, binary version (https://www.cs.toronto.edu/~kriz/cifar.html): data_batch_1.bin …
// data_batch_5.bin (training, 50,000 images) and test_batch.bin (10,000), each a sequence of
// 3073-byte records: one label byte (0–9), then 3 × 32 × 32 pixel bytes, channel-major (R, G, B
// planes, rows top to bottom). Files may be gzipped. Found in the user's folder (directly or in
// cifar-10-batches-bin/), the cache, or the MD5-checked archive cifar-10-binary.tar.gz.
namespace MiniNet.Data;

/// <summary>CIFAR-10: 50,000 training and 10,000 test colour images of 3 × 32 × 32 in ten classes.</summary>
public static class Cifar10
{
    const int Channels = 3, Side = 32, ImageBytes = Channels * Side * Side, RecordBytes = 1 + ImageBytes, NumClasses = 10;

    internal static readonly string[] TrainFiles = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];

    internal static readonly string[] Files = [.. TrainFiles, "test_batch.bin"];

    internal const string Folder = "cifar-10-batches-bin";

    internal static readonly Uri Url = new("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz");

    // The published MD5 of cifar-10-binary.tar.gz.
    internal const string Md5 = "c32a1d4ab5d03f1284b67883e8d87530";

    /// <summary>The class names, in label order.</summary>
    public static IReadOnlyList<string> Classes { get; } =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>Loads the training and test sets from the first source that has them: the user's folder, the cache, then a download.</summary>
    /// <exception cref="DataSourceException">No source worked; the message lists each one and what to do.</exception>
    /// <exception cref="DataFileException">A file is corrupt (in the user's folder, or fetched corrupt).</exception>
    public static (ImageDataset Train, ImageDataset Test) Load(DataSourceOptions? options = null) => DataSources.Load(Spec(), options);

    /// <summary>
    /// Reads CIFAR-10 binary files (3073-byte records: label, then 3 × 32 × 32 pixels) into one data set, in file order.
    /// </summary>
    /// <exception cref="DataFileException">A file's length is not a positive multiple of 3073, or it holds a label above 9.</exception>
    public static ImageDataset ReadBinary(string name, params string[] paths)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(paths);
        var contents = new List<(string Path, byte[] Bytes)>(paths.Length);
        long records = 0;
        foreach (string path in paths)
        {
            byte[] bytes = DataFiles.ReadAll(path);
            if (bytes.Length == 0 || bytes.Length % RecordBytes != 0)
                throw new DataFileException(
                    $"{path}: {bytes.Length} bytes (after decompression) is not a positive multiple of {RecordBytes} (1 label byte + 3 × 32 × 32 pixels per image); the file is truncated or not a CIFAR-10 binary batch.",
                    path);
            contents.Add((path, bytes));
            records += bytes.Length / RecordBytes;
        }
        if (records * ImageBytes > Array.MaxLength)
            throw new ArgumentException($"Cifar10.ReadBinary: {records} images do not fit in one array.", nameof(paths));
        var images = new byte[records * ImageBytes];
        var labels = new int[records];
        int n = 0;
        foreach (var (path, bytes) in contents)
        {
            for (int offset = 0; offset < bytes.Length; offset += RecordBytes, n++)
            {
                int label = bytes[offset];
                if (label >= NumClasses)
                    throw new DataFileException($"{path}: label {label} in record {offset / RecordBytes}; expected a label in [0, {NumClasses}) (corrupt file, or not CIFAR-10).", path);
                labels[n] = label;
                bytes.AsSpan(offset + 1, ImageBytes).CopyTo(images.AsSpan(n * ImageBytes));
            }
        }
        return new ImageDataset(name, images, labels, Channels, Side, Side, NumClasses);
    }

    internal static DatasetSpec Spec(string md5 = Md5, Uri? url = null) => new()
    {
        Name = "CIFAR-10",
        CacheFolder = Folder,
        Layouts = [Folder, ""],
        Files = Files,
        Parse = paths => (ReadBinary("CIFAR-10 train", [.. TrainFiles.Select(f => paths[f])]), ReadBinary("CIFAR-10 test", paths["test_batch.bin"])),
        Fetchers = [new ArchiveDownload(url ?? Url, md5, Folder, Files)],
        Remedy = where =>
            $"To use CIFAR-10, download {url ?? Url} (the binary version) and unpack it into {where}{Path.DirectorySeparatorChar}, "
            + $"which gives {Path.Combine(where, Folder)}{Path.DirectorySeparatorChar} with {string.Join(", ", Files)}.",
    };
}
