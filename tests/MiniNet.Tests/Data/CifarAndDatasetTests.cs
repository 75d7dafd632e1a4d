// CIFAR-10 binary batches (records of 1 label byte + 3 × 32 × 32 pixels, raw or gzipped) read back
// exactly, with truncated files and bad labels refused naming the file; and ImageDataset's checks and
// its Subset view.
using MiniNet.Data;

namespace MiniNet.Tests.Data;

public class Cifar10FileTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadBinary_ConcatenatesRecordsInFileOrder(bool gzip)
    {
        using var tmp = new TempFolder();
        var files = CifarFiles.Set(1);
        CifarFiles.WriteTo(tmp.Path, files, gzip);
        string suffix = gzip ? ".gz" : "";
        var train = Cifar10.ReadBinary("train", [.. Enumerable.Range(1, 5).Select(i => Path.Combine(tmp.Path, $"data_batch_{i}.bin{suffix}"))]);
        Assert.Equal(15, train.Count);
        Assert.Equal("train", train.Name);
        CifarFiles.AssertRecords([.. Enumerable.Range(1, 5).SelectMany(i => files[$"data_batch_{i}.bin"])], train);
    }

    [Fact]
    public void ReadBinary_PixelsStayChannelMajor()
    {
        using var tmp = new TempFolder();
        var record = new byte[CifarFiles.RecordBytes];
        record[0] = 7;
        record[1] = 11;                  // R (0, 0)
        record[1 + 1024 + 33] = 22;      // G (1, 1)
        record[1 + 2048 + 1023] = 33;    // B (31, 31)
        string path = tmp.Sub("one.bin");
        File.WriteAllBytes(path, record);
        var ds = Cifar10.ReadBinary("one", path);
        var image = ds.Image(0).ToArray();
        Assert.Equal(7, ds.Labels[0]);
        Assert.Equal(11, image[0]);
        Assert.Equal(22, image[(1 * 32 + 1) * 32 + 1]);
        Assert.Equal(33, image[(2 * 32 + 31) * 32 + 31]);
    }

    [Theory]
    [InlineData(3073 * 2 - 1)]
    [InlineData(3073 + 1)]
    [InlineData(0)]
    public void LengthNotMultipleOfRecord_NamesFile(int length)
    {
        using var tmp = new TempFolder();
        string good = tmp.Sub("data_batch_1.bin"), bad = tmp.Sub("data_batch_2.bin");
        File.WriteAllBytes(good, CifarFiles.Batch(1, 1));
        File.WriteAllBytes(bad, CifarFiles.Batch(2, 2)[..length]);
        var e = Assert.Throws<DataFileException>(() => Cifar10.ReadBinary("train", good, bad));
        Assert.Equal($"{bad}: {length} bytes (after decompression) is not a positive multiple of 3073 (1 label byte + 3 × 32 × 32 pixels per image); the file is truncated or not a CIFAR-10 binary batch.", e.Message);
        Assert.Equal([bad], e.Files);
    }

    [Fact]
    public void LabelAboveNine_NamesFileAndRecord()
    {
        using var tmp = new TempFolder();
        var bytes = CifarFiles.Batch(1, 3);
        bytes[2 * CifarFiles.RecordBytes] = 10;
        string path = tmp.Sub("test_batch.bin");
        File.WriteAllBytes(path, DataTestFiles.Gzip(bytes));
        var e = Assert.Throws<DataFileException>(() => Cifar10.ReadBinary("test", path));
        Assert.Contains($"{path}: label 10 in record 2; expected a label in [0, 10)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Classes_AreTheTenCifarNames()
    {
        Assert.Equal(10, Cifar10.Classes.Count);
        Assert.Equal("airplane", Cifar10.Classes[0]);
        Assert.Equal("truck", Cifar10.Classes[9]);
        Assert.Equal("Ankle boot", FashionMnist.Classes[9]);
        Assert.Equal("9", Mnist.Classes[9]);
    }
}

public class ImageDatasetTests
{
    static ImageDataset Small() => new("small", [.. Enumerable.Range(0, 5 * 2 * 2 * 3).Select(i => (byte)i)], [0, 1, 2, 1, 0], 2, 2, 3, 3);

    [Fact]
    public void Properties_DescribeTheImages()
    {
        var ds = Small();
        Assert.Equal((5, 2, 2, 3, 3, 12), (ds.Count, ds.Channels, ds.Height, ds.Width, ds.NumClasses, ds.ImageSize));
        Assert.Equal([0, 1, 2, 1, 0], ds.Labels);
        Assert.Equal(Enumerable.Range(12, 12).Select(i => (byte)i), ds.Image(1).ToArray());
        Assert.Equal("small: 5 images [2, 2, 3], 3 classes", ds.ToString());
    }

    [Fact]
    public void Subset_IsAViewOfTheRange()
    {
        var ds = Small();
        var sub = ds.Subset(1, 3);
        Assert.Equal("small[1..4)", sub.Name);
        Assert.Equal((3, 2, 2, 3, 3), (sub.Count, sub.Channels, sub.Height, sub.Width, sub.NumClasses));
        Assert.Equal([1, 2, 1], sub.Labels);
        Assert.Equal(ds.Images.Slice(12, 36).ToArray(), sub.Images.ToArray());
        Assert.True(ds.Images.Span.Overlaps(sub.Images.Span));
        Assert.Equal(0, ds.Subset(5, 0).Count);
        Assert.Equal([2], sub.Subset(1, 1).Labels);
    }

    [Theory]
    [InlineData(-1, 1)]
    [InlineData(0, 6)]
    [InlineData(4, 2)]
    [InlineData(1, -1)]
    public void Subset_OutOfRange_Throws(int start, int count)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Small().Subset(start, count));
        Assert.Contains($"[{start}, {start}+{count}) is not within [0, 5)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_ChecksSizesAndLabels()
    {
        var size = Assert.Throws<ArgumentException>(() => new ImageDataset("d", new byte[11], [0, 1], 1, 2, 3, 2));
        Assert.Contains("2 labels of [C, H, W] = [1, 2, 3] need 12 image bytes, but got 11", size.Message, StringComparison.Ordinal);
        var label = Assert.Throws<ArgumentException>(() => new ImageDataset("d", new byte[12], [0, 2], 1, 2, 3, 2));
        Assert.Contains("label 2 at index 1 is outside [0, 2)", label.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new ImageDataset("d", new byte[12], [0, -1], 1, 2, 3, 2));
        Assert.Throws<ArgumentException>(() => new ImageDataset("d", [], [], 0, 2, 3, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageDataset("d", [], [], 1, 2, 3, 0));
        Assert.Equal(0, new ImageDataset("empty", [], [], 1, 2, 3, 2).Count);
    }

    [Fact]
    public void Labels_CannotBeCastBackToTheArray()
    {
        int[] labels = [0, 1];
        var ds = new ImageDataset("d", new byte[2], labels, 1, 1, 1, 2);
        Assert.IsNotType<int[]>(ds.Labels);
        Assert.Equal(labels, ds.Labels);
    }
}
