// Reading data files whole, gzipped or not: a file whose first two bytes are the gzip magic 1f 8b is
// decompressed, whatever its name; anything else is taken as is. Every problem with a file's content
// is a DataFileException whose message starts with the file's path and says what was expected.
// Writing goes to a temporary file in the same folder that is renamed over the target only once
// complete, so a crash never leaves a half-written file under the final name.
using System.IO.Compression;

namespace MiniNet.Data;

/// <summary>A data file that exists but cannot be used: corrupt, truncated, or inconsistent with its partner file.</summary>
public sealed class DataFileException : IOException
{
    /// <summary>Creates the exception; <paramref name="message"/> names the file(s) and what was expected.</summary>
    public DataFileException(string message, params string[] files) : base(message) => Files = files;

    /// <summary>Creates the exception with the error that revealed the problem.</summary>
    public DataFileException(string message, Exception innerException, params string[] files) : base(message, innerException) => Files = files;

    /// <summary>Creates the exception without files.</summary>
    public DataFileException() => Files = [];

    /// <summary>Creates the exception without files.</summary>
    public DataFileException(string message) : base(message) => Files = [];

    /// <summary>Creates the exception without files.</summary>
    public DataFileException(string message, Exception innerException) : base(message, innerException) => Files = [];

    /// <summary>The paths of the files at fault.</summary>
    public IReadOnlyList<string> Files { get; }
}

static class DataFiles
{
    internal static bool IsGzip(ReadOnlySpan<byte> bytes) => bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;

    // The content of path, decompressed when it starts with the gzip magic.
    internal static byte[] ReadAll(string path)
    {
        byte[] raw = File.ReadAllBytes(path);
        if (!IsGzip(raw)) return raw;
        // The gzip trailer's last 4 bytes hold the uncompressed size (mod 2³²): a capacity hint only, since a
        // truncated file has no trailer. Content checks downstream catch truncation by the lengths they expect.
        int hint = raw.Length >= 18 ? BitConverter.ToInt32(raw, raw.Length - 4) : 0;
        var output = new MemoryStream(hint > 0 && hint <= 1 << 30 ? hint : raw.Length * 4);
        try
        {
            using var gzip = new GZipStream(new MemoryStream(raw, writable: false), CompressionMode.Decompress);
            gzip.CopyTo(output);
        }
        catch (InvalidDataException e)
        {
            throw new DataFileException($"{path}: not a valid gzip stream ({e.Message}); expected a gzip file or an uncompressed one.", e, path);
        }
        return output.Length == output.Capacity ? output.GetBuffer() : output.ToArray();
    }

    // Writes content to path through a temporary file in the same folder, gzipped when asked.
    internal static void WriteAtomically(string path, ReadOnlySpan<byte> content, bool gzip)
    {
        string full = Path.GetFullPath(path);
        string temp = TempPathBeside(full);
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                if (gzip)
                {
                    using var compressor = new GZipStream(file, CompressionLevel.Optimal);
                    compressor.Write(content);
                }
                else
                {
                    file.Write(content);
                }
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    // A fresh name next to path for a file that will be renamed to path: ".<name>.<random>.part".
    internal static string TempPathBeside(string path)
    {
        string folder = Path.GetDirectoryName(path) ?? ".";
        return Path.Combine(folder, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.part");
    }
}
