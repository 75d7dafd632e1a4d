// Test helpers for the data library: a temporary folder per test (deleted afterwards), small IDX and
// CIFAR data sets written to disk, .tar.gz archives built in memory, and hashes. Nothing here touches
// the network or the user's real cache.
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using MiniNet.Data;

namespace MiniNet.Tests.Data;

/// <summary>A fresh folder under the system temp folder, deleted on dispose.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mininet-data-tests", Guid.NewGuid().ToString("N"));

    /// <summary>The path of a sub-folder or file, with its parent folders created.</summary>
    public string Sub(params string[] parts)
    {
        string path = System.IO.Path.Combine([Path, .. parts]);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        return path;
    }

    /// <summary>Every file under the folder, relative to it, sorted.</summary>
    public string[] AllFiles(string? under = null)
    {
        string root = under ?? Path;
        return Directory.Exists(root)
            ? [.. Directory.GetFiles(root, "*", SearchOption.AllDirectories).Select(f => System.IO.Path.GetRelativePath(root, f).Replace('\\', '/')).Order(StringComparer.Ordinal)]
            : [];
    }

    public void Dispose()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}

/// <summary>A small IDX data set in memory: its train/test images and labels, as the four MNIST files would hold them.</summary>
public sealed record IdxSet(byte[] TrainImages, byte[] TrainLabels, byte[] TestImages, byte[] TestLabels, int Rows, int Cols)
{
    public int TrainCount => TrainLabels.Length;

    public int TestCount => TestLabels.Length;

    /// <summary>A set whose pixel bytes are derived from <paramref name="seed"/>, so two seeds give distinguishable sets.</summary>
    public static IdxSet Make(int seed, int trainCount = 5, int testCount = 3, int rows = 3, int cols = 4)
    {
        var random = new Random(seed);
        byte[] Bytes(int n)
        {
            var b = new byte[n];
            random.NextBytes(b);
            return b;
        }
        byte[] Labels(int n) => [.. Enumerable.Range(0, n).Select(_ => (byte)random.Next(10))];
        return new IdxSet(Bytes(trainCount * rows * cols), Labels(trainCount), Bytes(testCount * rows * cols), Labels(testCount), rows, cols);
    }

    /// <summary>The content of each of the four files (file name without .gz → bytes), gzipped or not.</summary>
    public Dictionary<string, byte[]> FileContents(bool gzip)
    {
        using var folder = new TempFolder();
        WriteTo(folder.Path, gzip);
        return Directory.GetFiles(folder.Path).ToDictionary(f => Path.GetFileName(f).Replace(".gz", "", StringComparison.Ordinal), File.ReadAllBytes);
    }

    /// <summary>Writes the four files into <paramref name="folder"/> (named with .gz when gzipped).</summary>
    public void WriteTo(string folder, bool gzip)
    {
        Directory.CreateDirectory(folder);
        string suffix = gzip ? ".gz" : "";
        Idx.WriteImages(Path.Combine(folder, "train-images-idx3-ubyte" + suffix), TrainImages, TrainCount, Rows, Cols, gzip);
        Idx.WriteLabels(Path.Combine(folder, "train-labels-idx1-ubyte" + suffix), TrainLabels, gzip);
        Idx.WriteImages(Path.Combine(folder, "t10k-images-idx3-ubyte" + suffix), TestImages, TestCount, Rows, Cols, gzip);
        Idx.WriteLabels(Path.Combine(folder, "t10k-labels-idx1-ubyte" + suffix), TestLabels, gzip);
    }

    /// <summary>Asserts that the loaded sets hold exactly this set's pixels and labels.</summary>
    public void AssertLoaded((ImageDataset Train, ImageDataset Test) sets)
    {
        AssertSame(sets.Train, TrainImages, TrainLabels);
        AssertSame(sets.Test, TestImages, TestLabels);
    }

    void AssertSame(ImageDataset dataset, byte[] images, byte[] labels)
    {
        Assert.Equal((1, Rows, Cols, 10), (dataset.Channels, dataset.Height, dataset.Width, dataset.NumClasses));
        Assert.Equal(images, dataset.Images.ToArray());
        Assert.Equal(labels.Select(b => (int)b), dataset.Labels);
    }
}

/// <summary>A small CIFAR-10-shaped set: records of 1 label byte + 3072 pixel bytes.</summary>
public static class CifarFiles
{
    public const int RecordBytes = 3073;

    /// <summary>A batch file's content: <paramref name="count"/> records with labels and pixels from <paramref name="seed"/>.</summary>
    public static byte[] Batch(int seed, int count)
    {
        var random = new Random(seed);
        var bytes = new byte[count * RecordBytes];
        random.NextBytes(bytes);
        for (int r = 0; r < count; r++) bytes[r * RecordBytes] = (byte)random.Next(10);
        return bytes;
    }

    /// <summary>The six files of a set (name → content), batch i holding i + 1 records and the test batch 2.</summary>
    public static Dictionary<string, byte[]> Set(int seed)
    {
        var files = new Dictionary<string, byte[]>();
        for (int i = 1; i <= 5; i++) files[$"data_batch_{i}.bin"] = Batch(seed * 10 + i, i);
        files["test_batch.bin"] = Batch(seed * 10, 2);
        return files;
    }

    public static void WriteTo(string folder, Dictionary<string, byte[]> files, bool gzip = false)
    {
        Directory.CreateDirectory(folder);
        foreach (var (name, content) in files) File.WriteAllBytes(Path.Combine(folder, name + (gzip ? ".gz" : "")), gzip ? DataTestFiles.Gzip(content) : content);
    }

    /// <summary>Asserts that the loaded sets hold the records of <paramref name="files"/> in order.</summary>
    public static void AssertLoaded(Dictionary<string, byte[]> files, (ImageDataset Train, ImageDataset Test) sets)
    {
        byte[] train = [.. Enumerable.Range(1, 5).SelectMany(i => files[$"data_batch_{i}.bin"])];
        AssertRecords(train, sets.Train);
        AssertRecords(files["test_batch.bin"], sets.Test);
    }

    public static void AssertRecords(byte[] records, ImageDataset dataset)
    {
        int n = records.Length / RecordBytes;
        Assert.Equal((n, 3, 32, 32, 10), (dataset.Count, dataset.Channels, dataset.Height, dataset.Width, dataset.NumClasses));
        var images = dataset.Images.ToArray();
        for (int r = 0; r < n; r++)
        {
            Assert.Equal(records[r * RecordBytes], dataset.Labels[r]);
            Assert.Equal(records.AsSpan(r * RecordBytes + 1, 3072).ToArray(), images.AsSpan(r * 3072, 3072).ToArray());
        }
    }
}

public static class DataTestFiles
{
    public static byte[] Gzip(byte[] content)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(content);
        return output.ToArray();
    }

    /// <summary>A .tar.gz holding each (path in archive → content).</summary>
    public static byte[] TarGz(IEnumerable<KeyValuePair<string, byte[]>> entries)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: false))
        {
            foreach (var (name, content) in entries)
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
        }
        return output.ToArray();
    }

#pragma warning disable CA5351 // MD5 here reproduces the published checksums, not security.
    public static string Md5(byte[] content) => Convert.ToHexStringLower(MD5.HashData(content));
#pragma warning restore CA5351

    public static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));
}
