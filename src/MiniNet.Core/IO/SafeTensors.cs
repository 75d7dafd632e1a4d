// The safetensors format (github.com/huggingface/safetensors), read and written with PyTorch's conventions:
//   8 bytes   N, the header length, unsigned little endian
//   N bytes   UTF-8 JSON: {"__metadata__": {"k": "v", ...}, "name": {"dtype": "F32", "shape": [2, 3],
//             "data_offsets": [begin, end]}, ...}, padded with spaces so that N is a multiple of 8
//   the rest  the data buffer: each tensor row-major little endian at [begin, end) relative to the
//             buffer start; the tensors tile the buffer exactly (no gaps, no overlaps, no trailing bytes)
// Pure data: loading parses JSON and copies numbers, nothing else. Load validates everything before
// it trusts it (header size against a limit and the file, JSON shape and types, dtypes, shapes against
// offsets, the tiling) and names the file and the entry in every error. Save is atomic: it writes a
// temporary file in the target's folder, flushes it to disk and renames it over the target; on any
// failure the temporary file is deleted and the target is untouched.
using System.Buffers.Binary;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;

namespace MiniNet.IO;

/// <summary>The contents of a safetensors file: tensors in file order, their stored dtypes, and the metadata.</summary>
public sealed class SafeTensorsFile
{
    internal SafeTensorsFile(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> dtypes, IReadOnlyDictionary<string, string> metadata)
    {
        Tensors = tensors;
        Dtypes = dtypes;
        Metadata = metadata;
    }

    /// <summary>The tensors by name, in the order of the file's header, converted to float32 on the CPU.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    /// <summary>Each tensor's dtype as stored in the file ("F32", "I64", ...).</summary>
    public IReadOnlyDictionary<string, string> Dtypes { get; }

    /// <summary>The <c>__metadata__</c> strings (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
}

/// <summary>Reads and writes the safetensors format (as <c>safetensors.torch.load_file</c> / <c>save_file</c>).</summary>
public static class SafeTensors
{
    /// <summary>The default limit on the header's size: 100 MiB.</summary>
    public const long DefaultMaxHeaderBytes = 100L * 1024 * 1024;

    const string MetadataKey = "__metadata__";
    const int ChunkBytes = 1 << 20;

    /// <summary>
    /// Writes <paramref name="tensors"/> to <paramref name="path"/> atomically (a temporary file in the
    /// same folder, flushed, then renamed over the target; on failure the target is left as it was).
    /// </summary>
    /// <param name="path">The file to write (replaced if it exists; its folder must exist).</param>
    /// <param name="tensors">Names and tensors, written in this order; each tensor is copied to the host.</param>
    /// <param name="metadata">Strings stored under <c>__metadata__</c>, or null for none.</param>
    /// <param name="dtypes">The dtype to store a tensor as, by name ("F32" when absent): F32, F64, F16, BF16,
    /// I64, I32, I16, I8, U8 or BOOL. Integer and BOOL dtypes require values they hold exactly.</param>
    /// <exception cref="ArgumentException">A null, empty, reserved or repeated name, a null tensor, a dtype for an
    /// unknown name or an unsupported dtype, or a value the requested dtype cannot hold.</exception>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null, IReadOnlyDictionary<string, string>? dtypes = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        string target = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(target) ?? throw new ArgumentException($"SafeTensors.Save: '{path}' is not a file path.", nameof(path));
        string temp = Path.Combine(directory, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        FileStream? stream = null;
        try
        {
            stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
            Write(stream, path, tensors, metadata, dtypes);
            stream.Flush(flushToDisk: true);
            stream.Dispose();
            stream = null;
            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            stream?.Dispose();
            DeleteQuietly(temp);
            throw;
        }
    }

    // Cleanup after a failed save must not hide the failure that caused it.
    static void DeleteQuietly(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    static void Write(Stream stream, string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata, IReadOnlyDictionary<string, string>? dtypes)
    {
        var entries = new List<(string Name, Tensor Tensor, string Dtype)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException($"SafeTensors.Save: '{path}': a tensor has a null or empty name.", nameof(tensors));
            if (name == MetadataKey) throw new ArgumentException($"SafeTensors.Save: '{path}': '{MetadataKey}' is reserved and cannot name a tensor.", nameof(tensors));
            if (!names.Add(name)) throw new ArgumentException($"SafeTensors.Save: '{path}': tensor '{name}' appears more than once.", nameof(tensors));
            if (tensor is null) throw new ArgumentException($"SafeTensors.Save: '{path}': tensor '{name}' is null.", nameof(tensors));
            string dtype = dtypes is not null && dtypes.TryGetValue(name, out var d) ? d : "F32";
            if (!SafeTensorsDtypes.IsSupported(dtype))
                throw new ArgumentException($"SafeTensors.Save: '{path}': tensor '{name}': unsupported dtype '{dtype}' (expected one of {string.Join(", ", SafeTensorsDtypes.Supported)}).", nameof(dtypes));
            entries.Add((name, tensor, dtype));
        }
        if (dtypes is not null)
        {
            foreach (var name in dtypes.Keys.Where(k => !names.Contains(k)))
                throw new ArgumentException($"SafeTensors.Save: '{path}': a dtype is given for '{name}', which is not among the tensors.", nameof(dtypes));
        }

        byte[] header = Header(path, entries, metadata);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);

        var chunk = new byte[ChunkBytes];
        foreach (var (name, tensor, dtype) in entries)
        {
            float[] values = tensor.ToArray();
            int size = SafeTensorsDtypes.Size(dtype), perChunk = ChunkBytes / size;
            for (int start = 0; start < values.Length; start += perChunk)
            {
                int count = Math.Min(perChunk, values.Length - start);
                int bad = SafeTensorsDtypes.Encode(dtype, values.AsSpan(start, count), chunk);
                if (bad >= 0)
                {
                    throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                        $"SafeTensors.Save: '{path}': tensor '{name}': element {start + bad} is {values[start + bad]}, which {dtype} cannot hold exactly."), nameof(tensors));
                }
                stream.Write(chunk, 0, count * size);
            }
        }
    }

    // The JSON header, __metadata__ first (as safetensors writes it), padded with spaces to a multiple of 8.
    static byte[] Header(string path, List<(string Name, Tensor Tensor, string Dtype)> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        // Relaxed escaping keeps quotes inside metadata strings readable (\" rather than \u0022); it is still valid JSON.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata)
                {
                    if (value is null) throw new ArgumentException($"SafeTensors.Save: '{path}': metadata '{key}' is null.", nameof(metadata));
                    json.WriteString(key, value);
                }
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, tensor, dtype) in entries)
            {
                long end = offset + (long)tensor.Numel * SafeTensorsDtypes.Size(dtype);
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype);
                json.WriteStartArray("shape");
                foreach (int d in tensor.ShapeRef) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(end);
                json.WriteEndArray();
                json.WriteEndObject();
                offset = end;
            }
            json.WriteEndObject();
        }
        int padding = (int)((8 - buffer.Length % 8) % 8);
        for (int i = 0; i < padding; i++) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    /// <summary>Reads a safetensors file, converting every tensor to float32 on the CPU.</summary>
    /// <param name="path">The file to read.</param>
    /// <param name="maxHeaderBytes">The largest header accepted (checked before it is read into memory).</param>
    /// <exception cref="InvalidDataException">The file is not valid safetensors; the message names the file and the entry.</exception>
    public static SafeTensorsFile Load(string path, long maxHeaderBytes = DefaultMaxHeaderBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxHeaderBytes);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw Invalid(path, $"the file has {fileLength} bytes, fewer than the 8 of the header length");
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)maxHeaderBytes)
            throw Invalid(path, $"the header length {headerLength} exceeds the limit of {maxHeaderBytes} bytes");
        if (headerLength > (ulong)(fileLength - 8))
            throw Invalid(path, $"the header length {headerLength} exceeds the {fileLength - 8} bytes that follow it");
        if (headerLength > (ulong)Array.MaxLength)
            throw Invalid(path, $"the header length {headerLength} exceeds the largest array .NET can allocate ({Array.MaxLength} bytes)");
        var header = new byte[(int)headerLength];
        stream.ReadExactly(header);
        long bufferStart = 8 + (long)headerLength, bufferLength = fileLength - bufferStart;

        var (entries, metadata) = ParseHeader(path, header);
        CheckTiling(path, entries, bufferLength);

        var tensors = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        var dtypes = new OrderedDictionary<string, string>(StringComparer.Ordinal);
        var chunk = new byte[ChunkBytes];
        foreach (var e in entries)
        {
            var values = new float[e.Numel];
            int size = SafeTensorsDtypes.Size(e.Dtype), perChunk = ChunkBytes / size;
            stream.Position = bufferStart + e.Begin;
            for (int start = 0; start < values.Length; start += perChunk)
            {
                int count = Math.Min(perChunk, values.Length - start);
                stream.ReadExactly(chunk, 0, count * size);
                SafeTensorsDtypes.Decode(e.Dtype, chunk, values.AsSpan(start, count));
            }
            tensors.Add(e.Name, new Tensor(new Backends.CpuStorage(values), e.Shape));
            dtypes.Add(e.Name, e.Dtype);
        }
        return new SafeTensorsFile(tensors, dtypes, metadata);
    }

    sealed record Entry(string Name, string Dtype, int[] Shape, int Numel, long Begin, long End);

    static (List<Entry> Entries, IReadOnlyDictionary<string, string> Metadata) ParseHeader(string path, byte[] header)
    {
        if (header.Length == 0 || header[0] != (byte)'{')
            throw Invalid(path, "the header does not start with '{' (not a JSON object)");
        // The JSON reader checks UTF-8 only when a string is read; check it all up front.
        if (!Utf8.IsValid(header))
            throw Invalid(path, "the header is not valid UTF-8");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw Invalid(path, $"the header is not valid JSON ({e.Message})", e);
        }
        using (document)
        {
            var entries = new List<Entry>();
            var metadata = new OrderedDictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                string name = property.Name;
                if (!seen.Add(name)) throw Invalid(path, $"'{name}' appears more than once in the header");
                if (name == MetadataKey) ParseMetadata(path, property.Value, metadata);
                else entries.Add(ParseEntry(path, name, property.Value));
            }
            return (entries, metadata);
        }
    }

    static void ParseMetadata(string path, JsonElement value, OrderedDictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Invalid(path, $"'{MetadataKey}' is a JSON {Kind(value)}, expected an object of strings");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw Invalid(path, $"metadata '{item.Name}' is a JSON {Kind(item.Value)}, expected a string");
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                throw Invalid(path, $"metadata '{item.Name}' appears more than once");
        }
    }

    static Entry ParseEntry(string path, string name, JsonElement value)
    {
        string where = $"tensor '{name}'";
        if (value.ValueKind != JsonValueKind.Object)
            throw Invalid(path, $"{where} is a JSON {Kind(value)}, expected an object with dtype, shape and data_offsets");
        JsonElement? dtypeValue = null, shapeValue = null, offsetsValue = null;
        foreach (var field in value.EnumerateObject())
        {
            // Unknown fields are ignored, as the reference implementation does.
            switch (field.Name)
            {
                case "dtype": dtypeValue = field.Value; break;
                case "shape": shapeValue = field.Value; break;
                case "data_offsets": offsetsValue = field.Value; break;
            }
        }
        if (dtypeValue is not JsonElement dtypeElement) throw Invalid(path, $"{where} has no 'dtype'");
        if (shapeValue is not JsonElement shapeElement) throw Invalid(path, $"{where} has no 'shape'");
        if (offsetsValue is not JsonElement offsetsElement) throw Invalid(path, $"{where} has no 'data_offsets'");

        if (dtypeElement.ValueKind != JsonValueKind.String)
            throw Invalid(path, $"{where}: 'dtype' is a JSON {Kind(dtypeElement)}, expected a string");
        string dtype = dtypeElement.GetString()!;
        if (!SafeTensorsDtypes.IsSupported(dtype))
        {
            string kind = SafeTensorsDtypes.IsKnownUnsupported(dtype) ? "unsupported" : "unknown";
            throw Invalid(path, $"{where}: {kind} dtype '{dtype}' (MiniNet reads {string.Join(", ", SafeTensorsDtypes.Supported)})");
        }

        long[] shape = NonNegativeIntegers(path, where, "shape", shapeElement);
        long[] offsets = NonNegativeIntegers(path, where, "data_offsets", offsetsElement);
        if (offsets.Length != 2)
            throw Invalid(path, $"{where}: 'data_offsets' has {offsets.Length} numbers, expected [begin, end]");
        long begin = offsets[0], end = offsets[1];
        if (begin > end) throw Invalid(path, $"{where}: data_offsets [{begin}, {end}] end before they begin");

        // Element count and byte size, refusing anything a float32 tensor of int-sized length cannot hold.
        long numel = 1;
        foreach (long d in shape)
        {
            if (d > int.MaxValue || (d > 0 && numel > int.MaxValue / d))
                throw Invalid(path, $"{where}: shape {FormatShape(shape)} has more than {int.MaxValue} elements, more than a MiniNet tensor holds");
            numel *= d;
        }
        long bytes = numel * SafeTensorsDtypes.Size(dtype);
        if (end - begin != bytes)
            throw Invalid(path, $"{where}: shape {FormatShape(shape)} of {dtype} needs {bytes} bytes, but data_offsets [{begin}, {end}] span {end - begin}");
        return new Entry(name, dtype, [.. shape.Select(d => (int)d)], (int)numel, begin, end);
    }

    static long[] NonNegativeIntegers(string path, string where, string field, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array)
            throw Invalid(path, $"{where}: '{field}' is a JSON {Kind(value)}, expected an array of integers");
        var result = new long[value.GetArrayLength()];
        int i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long n) || n < 0)
                throw Invalid(path, $"{where}: '{field}' element {i} is {item.GetRawText()}, expected a non-negative integer");
            result[i++] = n;
        }
        return result;
    }

    // The tensors must tile [0, bufferLength) exactly: sorted by offsets, each begins where the previous ends.
    static void CheckTiling(string path, List<Entry> entries, long bufferLength)
    {
        foreach (var e in entries)
        {
            if (e.End > bufferLength)
                throw Invalid(path, $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] run past the end of the {bufferLength}-byte data buffer");
        }
        long position = 0;
        string? previous = null;
        foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (e.Begin < position)
                throw Invalid(path, $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] overlap tensor '{previous}', which ends at {position}");
            if (e.Begin > position)
            {
                string after = previous is null ? "the start of the data buffer" : $"tensor '{previous}' (ends at {position})";
                throw Invalid(path, $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] leave a gap after {after}");
            }
            position = e.End;
            previous = e.Name;
        }
        if (position != bufferLength)
        {
            string last = previous is null ? "no tensor" : $"the last tensor '{previous}'";
            throw Invalid(path, $"{bufferLength - position} trailing bytes after {last}: the data buffer has {bufferLength} bytes but the tensors cover {position}");
        }
    }

    static string Kind(JsonElement value) => value.ValueKind.ToString().ToLowerInvariant();

    static string FormatShape(long[] shape) => "[" + string.Join(", ", shape) + "]";

    static InvalidDataException Invalid(string path, string message, Exception? inner = null) =>
        new($"SafeTensors.Load: '{path}': {message}.", inner);
}
