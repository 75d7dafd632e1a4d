// Test helpers for file formats: a temporary directory removed after the test, and safetensors files
// built byte by byte from a header string and a data buffer, exactly as the specification lays them out.
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace MiniNet.Tests.IO;

public sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mininet-tests-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string[] Entries() => [.. Directory.EnumerateFileSystemEntries(Path).Select(p => System.IO.Path.GetFileName(p)).Order()];

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

public static class SafeTensorsBytes
{
    /// <summary>8-byte little-endian header length, the header (optionally space-padded to a multiple of 8), the data.</summary>
    public static byte[] Build(string header, byte[] data, bool pad = true) => Build(Encoding.UTF8.GetBytes(header), data, pad);

    /// <summary>As <see cref="Build(string, byte[], bool)"/> with the header's bytes given directly.</summary>
    public static byte[] Build(byte[] json, byte[] data, bool pad = true)
    {
        int padding = pad ? (8 - json.Length % 8) % 8 : 0;
        var file = new byte[8 + json.Length + padding + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)(json.Length + padding));
        json.CopyTo(file, 8);
        file.AsSpan(8 + json.Length, padding).Fill((byte)' ');
        data.CopyTo(file, 8 + json.Length + padding);
        return file;
    }

    /// <summary>The header JSON of a safetensors file, parsed independently of MiniNet's reader.</summary>
    public static JsonDocument ReadHeader(string path)
    {
        var bytes = System.IO.File.ReadAllBytes(path);
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        return JsonDocument.Parse(bytes.AsMemory(8, n));
    }

    /// <summary>The raw bytes of tensor <paramref name="name"/> as its header's data_offsets locate them.</summary>
    public static byte[] RawData(string path, string name)
    {
        var bytes = System.IO.File.ReadAllBytes(path);
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var header = ReadHeader(path);
        var offsets = header.RootElement.GetProperty(name).GetProperty("data_offsets");
        int begin = offsets[0].GetInt32(), end = offsets[1].GetInt32();
        return bytes[(8 + n + begin)..(8 + n + end)];
    }

    public static byte[] F32(params float[] values) => Concat(values.Select(v => { var b = new byte[4]; BinaryPrimitives.WriteSingleLittleEndian(b, v); return b; }));
    public static byte[] F64(params double[] values) => Concat(values.Select(v => { var b = new byte[8]; BinaryPrimitives.WriteDoubleLittleEndian(b, v); return b; }));
    public static byte[] I64(params long[] values) => Concat(values.Select(v => { var b = new byte[8]; BinaryPrimitives.WriteInt64LittleEndian(b, v); return b; }));
    public static byte[] Concat(IEnumerable<byte[]> parts) => [.. parts.SelectMany(p => p)];
}
