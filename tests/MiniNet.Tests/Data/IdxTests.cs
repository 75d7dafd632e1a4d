// IDX files (MNIST's format): write → read round trips raw and gzipped (gzip found by its magic bytes,
// whatever the name); every corrupt variant (bad gzip, wrong magic, truncated, trailing bytes, a zero
// size, count mismatch, label out of range) is a DataFileException that names the file.
using MiniNet.Data;

namespace MiniNet.Tests.Data;

public class IdxTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WriteThenRead_RoundTripsImagesAndLabels(bool gzip)
    {
        using var tmp = new TempFolder();
        var set = IdxSet.Make(1, trainCount: 7, rows: 5, cols: 3);
        string images = tmp.Sub("images"), labels = tmp.Sub("labels");
        Idx.WriteImages(images, set.TrainImages, 7, 5, 3, gzip);
        Idx.WriteLabels(labels, set.TrainLabels, gzip);
        Assert.Equal(gzip, File.ReadAllBytes(images).AsSpan(0, 2).SequenceEqual(new byte[] { 0x1f, 0x8b }));

        var read = Idx.ReadImages(images);
        Assert.Equal((7, 5, 3), (read.Count, read.Rows, read.Cols));
        Assert.Equal(set.TrainImages, read.Pixels);
        Assert.Equal(set.TrainLabels, Idx.ReadLabels(labels));

        var dataset = Idx.Load("train", images, labels);
        Assert.Equal((7, 1, 5, 3, 10), (dataset.Count, dataset.Channels, dataset.Height, dataset.Width, dataset.NumClasses));
        Assert.Equal(set.TrainImages, dataset.Images.ToArray());
        Assert.Equal(set.TrainLabels.Select(b => (int)b), dataset.Labels);
        Assert.Equal("train", dataset.Name);
        Assert.DoesNotContain(tmp.AllFiles(), f => f.EndsWith(".part", StringComparison.Ordinal));
    }

    [Fact]
    public void Header_IsBigEndianMagicThenSizes()
    {
        using var tmp = new TempFolder();
        string path = tmp.Sub("x");
        Idx.WriteImages(path, [1, 2, 3, 4, 5, 6], 1, 2, 3);
        Assert.Equal(new byte[] { 0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6 }, File.ReadAllBytes(path));
        Idx.WriteLabels(path, [7, 9]);
        Assert.Equal(new byte[] { 0, 0, 8, 1, 0, 0, 0, 2, 7, 9 }, File.ReadAllBytes(path));
    }

    [Fact]
    public void Gzip_IsDetectedByMagicNotName()
    {
        using var tmp = new TempFolder();
        string gzippedPlainName = tmp.Sub("images-idx3-ubyte"), plainGzName = tmp.Sub("images-idx3-ubyte.gz");
        Idx.WriteImages(gzippedPlainName, [1, 2, 3, 4], 1, 2, 2, gzip: true);
        Idx.WriteImages(plainGzName, [5, 6, 7, 8], 1, 2, 2, gzip: false);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, Idx.ReadImages(gzippedPlainName).Pixels);
        Assert.Equal(new byte[] { 5, 6, 7, 8 }, Idx.ReadImages(plainGzName).Pixels);
    }

    // Writes a valid 2-image file of 2 × 2, then lets the test damage its (uncompressed) bytes.
    static string Damaged(TempFolder tmp, Func<byte[], byte[]> damage, bool gzip = false)
    {
        string path = tmp.Sub("damaged-idx3-ubyte");
        Idx.WriteImages(path, [1, 2, 3, 4, 5, 6, 7, 8], 2, 2, 2);
        byte[] content = damage(File.ReadAllBytes(path));
        File.WriteAllBytes(path, gzip ? DataTestFiles.Gzip(content) : content);
        return path;
    }

    static DataFileException AssertFails(string path, string expectedFragment, Action read)
    {
        var e = Assert.Throws<DataFileException>(read);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(expectedFragment, e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Files);
        return e;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Truncated_NamesFileAndExpectedSize(bool gzip)
    {
        using var tmp = new TempFolder();
        string path = Damaged(tmp, b => b[..^3], gzip);
        AssertFails(path, "header says [2, 2, 2] = 8 bytes of data after the 16-byte header, but the file holds 5; the file is truncated", () => Idx.ReadImages(path));
    }

    [Fact]
    public void TruncatedGzipStream_IsCaughtByTheSizeCheck()
    {
        using var tmp = new TempFolder();
        string path = tmp.Sub("images");
        var rng = new Random(3);
        var pixels = new byte[50 * 28 * 28];
        rng.NextBytes(pixels);
        Idx.WriteImages(path, pixels, 50, 28, 28, gzip: true);
        var gz = File.ReadAllBytes(path);
        File.WriteAllBytes(path, gz[..(gz.Length / 2)]);
        AssertFails(path, "the file is truncated", () => Idx.ReadImages(path));
    }

    [Fact]
    public void TooShortForHeader_NamesFile()
    {
        using var tmp = new TempFolder();
        string path = Damaged(tmp, b => b[..10]);
        AssertFails(path, "10 bytes (after decompression) is shorter than the 16-byte header", () => Idx.ReadImages(path));
    }

    [Fact]
    public void TrailingBytes_NamesFile()
    {
        using var tmp = new TempFolder();
        string path = Damaged(tmp, b => [.. b, 0]);
        AssertFails(path, "but the file holds 9; the file has trailing bytes", () => Idx.ReadImages(path));
    }

    [Fact]
    public void WrongMagic_NamesFileAndExpectedMagic()
    {
        using var tmp = new TempFolder();
        string path = Damaged(tmp, b => [0x50, 0x4b, 0x03, 0x04, .. b[4..]]);
        AssertFails(path, "magic number 0x504B0304; expected IDX images [N, rows, cols], magic 0x00000803", () => Idx.ReadImages(path));
    }

    [Fact]
    public void LabelFileReadAsImages_SaysWhichItIs()
    {
        using var tmp = new TempFolder();
        string path = tmp.Sub("labels");
        Idx.WriteLabels(path, [1, 2]);
        AssertFails(path, "This is a label file, not an image file.", () => Idx.ReadImages(path));
        string images = tmp.Sub("images");
        Idx.WriteImages(images, [1, 2, 3, 4], 1, 2, 2);
        AssertFails(images, "This is an image file, not a label file.", () => Idx.ReadLabels(images));
    }

    [Fact]
    public void NonByteType_IsRefused()
    {
        using var tmp = new TempFolder();
        string path = Damaged(tmp, b => [0, 0, 0x0D, 3, .. b[4..]]);  // 0x0D: float data
        AssertFails(path, "Only unsigned-byte (type 0x08) IDX data is supported.", () => Idx.ReadImages(path));
    }

    [Fact]
    public void ZeroSize_IsRefused()
    {
        using var tmp = new TempFolder();
        string path = Damaged(tmp, b => [.. b[..8], 0, 0, 0, 0, .. b[12..]]);
        AssertFails(path, "header gives size 0 for dimension 1", () => Idx.ReadImages(path));
    }

    [Fact]
    public void HugeSizes_AreRefusedWithoutAllocating()
    {
        using var tmp = new TempFolder();
        string path = Damaged(tmp, b => [.. b[..4], 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, .. b[12..]]);
        AssertFails(path, "exceed the largest array", () => Idx.ReadImages(path));
    }

    [Fact]
    public void BadGzip_NamesFile()
    {
        using var tmp = new TempFolder();
        string path = tmp.Sub("images.gz");
        var gz = DataTestFiles.Gzip(new byte[1000]);
        for (int i = 10; i < 20; i++) gz[i] ^= 0xA5;
        File.WriteAllBytes(path, gz);
        AssertFails(path, "not a valid gzip stream", () => Idx.ReadImages(path));
    }

    [Fact]
    public void CountMismatch_NamesBothFiles()
    {
        using var tmp = new TempFolder();
        string images = tmp.Sub("images"), labels = tmp.Sub("labels");
        Idx.WriteImages(images, new byte[3 * 4], 3, 2, 2);
        Idx.WriteLabels(labels, [1, 2]);
        var e = AssertFails(images, "holds 3 images but", () => Idx.Load("x", images, labels));
        Assert.Contains($"{labels} holds 2 labels; expected one label per image", e.Message, StringComparison.Ordinal);
        Assert.Equal([images, labels], e.Files);
    }

    [Fact]
    public void LabelOutOfRange_NamesFileAndIndex()
    {
        using var tmp = new TempFolder();
        string images = tmp.Sub("images"), labels = tmp.Sub("labels");
        Idx.WriteImages(images, new byte[3 * 4], 3, 2, 2);
        Idx.WriteLabels(labels, [1, 10, 2]);
        AssertFails(labels, "label 10 at index 1 is not a class of x; expected a label in [0, 10)", () => Idx.Load("x", images, labels));
        Assert.Equal(11, Idx.Load("x", images, labels, numClasses: 11).NumClasses);
    }

    [Fact]
    public void MissingFile_IsFileNotFound()
    {
        using var tmp = new TempFolder();
        Assert.Throws<FileNotFoundException>(() => Idx.ReadImages(Path.Combine(tmp.Path, "nothing")));
    }

    [Fact]
    public void Write_RefusesSizesThatDoNotMatch()
    {
        using var tmp = new TempFolder();
        string path = tmp.Sub("x");
        var e = Assert.Throws<ArgumentException>(() => Idx.WriteImages(path, new byte[7], 2, 2, 2));
        Assert.Contains("7 bytes for 2 images of 2 × 2", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
    }
}
