// SafeTensors: round trips (values, shapes, 0-d and empty tensors, order, metadata, every writable dtype),
// a file built byte by byte from the specification (the interop check, with F64, I64, F16, BF16 and small
// integer tensors out of offset order), every malformed file refused with a message naming the file and
// the entry, an oversized header refused without allocating it, and atomic saves that leave the old file
// and no temporary file behind when they fail.
using System.Buffers.Binary;
using System.Text;
using MiniNet.IO;
using static MiniNet.Tests.IO.SafeTensorsBytes;

namespace MiniNet.Tests.IO;

public sealed class SafeTensorsTests : IDisposable
{
    readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    static KeyValuePair<string, Tensor> T(string name, Tensor t) => new(name, t);

    [Fact]
    public void SaveLoad_RoundTripsValuesShapesOrderAndMetadata()
    {
        string path = _dir.File("a.safetensors");
        var tensors = new[]
        {
            T("z.weight", Tensor.Randn(new Generator(1), 3, 4)),
            T("a.scalar", Tensor.Scalar(-2.5f)),
            T("m.empty", Tensor.Zeros(2, 0)),
            T("b.vector", Tensor.FromArray([float.MaxValue, float.Epsilon, -0f, float.PositiveInfinity, float.NaN], 5)),
        };
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "quote \" and ünïcödé" };
        SafeTensors.Save(path, tensors, metadata);

        var file = SafeTensors.Load(path);
        Assert.Equal(tensors.Select(t => t.Key), file.Tensors.Keys);
        foreach (var (name, expected) in tensors)
        {
            Assert.Equal(expected.Shape, file.Tensors[name].Shape);
            Assert.Equal(expected.ToArray(), file.Tensors[name].ToArray());
            Assert.Equal("F32", file.Dtypes[name]);
        }
        Assert.Empty(file.Tensors["a.scalar"].Shape);
        Assert.Equal(metadata, file.Metadata);
        Assert.Equal(0, (new FileInfo(path).Length - 8 - (12 + 1 + 0 + 5) * 4) % 8);   // header padded to 8

        using var header = ReadHeader(path);
        Assert.Equal(0, header.RootElement.GetProperty("a.scalar").GetProperty("shape").GetArrayLength());
        Assert.Equal("[48,52]", header.RootElement.GetProperty("a.scalar").GetProperty("data_offsets").GetRawText());
    }

    public static TheoryData<string, float[], int> DtypeCases() => new()
    {
        { "F32", [1.5f, -2.25f, 0f, 1e-30f], 4 },
        { "F64", [1.5f, -2.25f, 0f, 1e-30f], 8 },
        { "F16", [1.5f, -2.25f, 0f, 65504f], 2 },
        { "BF16", [1.5f, -2.25f, 0f, 96f], 2 },
        { "I64", [0f, -7f, 1099511627776f, -9.223372036854775808e18f], 8 },
        { "I32", [0f, -7f, 100f, -2147483648f], 4 },
        { "I16", [0f, -7f, 32767f, -32768f], 2 },
        { "I8", [0f, -7f, 127f, -128f], 1 },
        { "U8", [0f, 1f, 7f, 255f], 1 },
        { "BOOL", [0f, 1f, 1f, 0f], 1 },
    };

    [Theory]
    [MemberData(nameof(DtypeCases))]
    public void SaveLoad_RoundTripsEveryDtype(string dtype, float[] values, int size)
    {
        string path = _dir.File("d.safetensors");
        SafeTensors.Save(path, [T("x", Tensor.FromArray(values, 2, 2)), T("f", Tensor.Ones(1))], dtypes: new Dictionary<string, string> { ["x"] = dtype });
        var file = SafeTensors.Load(path);
        Assert.Equal(values, file.Tensors["x"].ToArray());
        Assert.Equal(dtype, file.Dtypes["x"]);
        Assert.Equal("F32", file.Dtypes["f"]);
        Assert.Equal(4 * size, RawData(path, "x").Length);
    }

    [Fact]
    public void Save_I64_WritesTwosComplementLittleEndian()
    {
        string path = _dir.File("i.safetensors");
        SafeTensors.Save(path, [T("n", Tensor.Scalar(-3f))], dtypes: new Dictionary<string, string> { ["n"] = "I64" });
        Assert.Equal(I64(-3), RawData(path, "n"));
    }

    [Theory]
    [InlineData(1.00390625f, 1f)]        // 1 + 2⁻⁸: halfway between 1 and 1 + 2⁻⁷, ties to the even 1
    [InlineData(1.01171875f, 1.015625f)] // 1 + 3·2⁻⁸: halfway, ties to the even 1 + 2⁻⁶
    [InlineData(1.0039064f, 1.0078125f)] // just above halfway rounds up
    public void Save_BF16_RoundsToNearestEven(float value, float expected)
    {
        string path = _dir.File("b.safetensors");
        SafeTensors.Save(path, [T("x", Tensor.Scalar(value))], dtypes: new Dictionary<string, string> { ["x"] = "BF16" });
        Assert.Equal(expected, SafeTensors.Load(path).Tensors["x"].Item());
    }

    [Theory]
    [InlineData("I64", 2.5f)]
    [InlineData("I64", 9.223372036854775808e18f)]
    [InlineData("I32", 2147483648f)]
    [InlineData("U8", -1f)]
    [InlineData("I8", 128f)]
    [InlineData("BOOL", 2f)]
    [InlineData("I16", float.NaN)]
    public void Save_RefusesValuesAnIntegerDtypeCannotHold(string dtype, float value)
    {
        string path = _dir.File("bad.safetensors");
        var e = Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, [T("x", Tensor.FromArray([0f, value], 2))], dtypes: new Dictionary<string, string> { ["x"] = dtype }));
        Assert.Contains("tensor 'x': element 1", e.Message, StringComparison.Ordinal);
        Assert.Contains(dtype, e.Message, StringComparison.Ordinal);
        Assert.Empty(_dir.Entries());
    }

    [Fact]
    public void Save_RefusesBadNamesAndDtypes()
    {
        string path = _dir.File("bad.safetensors");
        Assert.Contains("more than once", Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, [T("a", Tensor.Ones(1)), T("a", Tensor.Ones(1))])).Message, StringComparison.Ordinal);
        Assert.Contains("reserved", Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, [T("__metadata__", Tensor.Ones(1))])).Message, StringComparison.Ordinal);
        Assert.Contains("empty name", Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, [T("", Tensor.Ones(1))])).Message, StringComparison.Ordinal);
        Assert.Contains("unsupported dtype 'I4'", Assert.Throws<ArgumentException>(() =>
            SafeTensors.Save(path, [T("a", Tensor.Ones(1))], dtypes: new Dictionary<string, string> { ["a"] = "I4" })).Message, StringComparison.Ordinal);
        Assert.Contains("'b', which is not among the tensors", Assert.Throws<ArgumentException>(() =>
            SafeTensors.Save(path, [T("a", Tensor.Ones(1))], dtypes: new Dictionary<string, string> { ["b"] = "I64" })).Message, StringComparison.Ordinal);
        Assert.Empty(_dir.Entries());
    }

    [Fact]
    public void Load_HandBuiltFileFromTheSpecification()
    {
        // Header entries deliberately not in offset order; the JSON order is kept.
        string header = """
            {"__metadata__":{"format":"pt","epoch":"3"},
             "n":{"dtype":"I64","shape":[],"data_offsets":[32,40]},
             "w":{"dtype":"F64","shape":[2,2],"data_offsets":[0,32]},
             "h":{"dtype":"F16","shape":[3],"data_offsets":[40,46]},
             "bf":{"dtype":"BF16","shape":[1],"data_offsets":[46,48]},
             "q":{"dtype":"I8","shape":[2],"data_offsets":[48,50]},
             "u":{"dtype":"U8","shape":[1],"data_offsets":[50,51]},
             "ok":{"dtype":"BOOL","shape":[2],"data_offsets":[51,53]},
             "s":{"dtype":"I16","shape":[1],"data_offsets":[53,55]},
             "i":{"dtype":"I32","shape":[1],"data_offsets":[55,59]},
             "f":{"dtype":"F32","shape":[1,1],"data_offsets":[59,63]},
             "e":{"dtype":"F32","shape":[0,3],"data_offsets":[63,63]}}
            """;
        var data = Concat([
            F64(1.5, -2, 0.1, 1e300),                    // w
            I64(9007199254740993),                       // n: 2⁵³ + 1, rounds to the nearest float 2⁵³
            [0x00, 0x3C, 0x00, 0xC0, 0x00, 0x35],        // h: F16 1, −2, 0.3125
            [0xC0, 0x3F],                                // bf: BF16 1.5
            [0xFF, 0x80],                                // q: −1, −128
            [200],                                       // u
            [0, 2],                                      // ok: false, true (any non-zero byte)
            [0x18, 0xFC],                                // s: −1000
            [0x40, 0xE2, 0x01, 0x00],                    // i: 123456
            F32(-0.75f),                                 // f
        ]);
        string path = _dir.File("spec.safetensors");
        File.WriteAllBytes(path, Build(header, data));

        var file = SafeTensors.Load(path);
        Assert.Equal(["n", "w", "h", "bf", "q", "u", "ok", "s", "i", "f", "e"], file.Tensors.Keys);
        Assert.Equal(new Dictionary<string, string> { ["format"] = "pt", ["epoch"] = "3" }, file.Metadata);
        Assert.Equal([2, 2], file.Tensors["w"].Shape);
        Assert.Equal([1.5f, -2f, 0.1f, float.PositiveInfinity], file.Tensors["w"].ToArray());
        Assert.Empty(file.Tensors["n"].Shape);
        Assert.Equal(9007199254740992f, file.Tensors["n"].Item());
        Assert.Equal("I64", file.Dtypes["n"]);
        Assert.Equal([1f, -2f, 0.3125f], file.Tensors["h"].ToArray());
        Assert.Equal(1.5f, file.Tensors["bf"].Item());
        Assert.Equal([-1f, -128f], file.Tensors["q"].ToArray());
        Assert.Equal(200f, file.Tensors["u"].Item());
        Assert.Equal([0f, 1f], file.Tensors["ok"].ToArray());
        Assert.Equal(-1000f, file.Tensors["s"].Item());
        Assert.Equal(123456f, file.Tensors["i"].Item());
        Assert.Equal([1, 1], file.Tensors["f"].Shape);
        Assert.Equal(-0.75f, file.Tensors["f"].Item());
        Assert.Equal([0, 3], file.Tensors["e"].Shape);
    }

    [Fact]
    public void Load_AcceptsAnUnpaddedHeaderAndNoMetadata()
    {
        string path = _dir.File("u.safetensors");
        File.WriteAllBytes(path, Build("""{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", F32(1f, 2f), pad: false));
        var file = SafeTensors.Load(path);
        Assert.Equal([1f, 2f], file.Tensors["x"].ToArray());
        Assert.Empty(file.Metadata);
    }

    const string A4 = "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";

    public static TheoryData<string, byte[], string> Malformed() => new()
    {
        { "short file", [1, 2, 3], "3 bytes, fewer than the 8" },
        { "header past the file", [.. BitConverter.GetBytes(1000UL), .. "{}"u8], "header length 1000 exceeds the 2 bytes" },
        { "not JSON", Build("{\"a\": ", []), "not valid JSON" },
        { "not an object", Build("[1, 2]", []), "does not start with '{'" },
        { "invalid UTF-8", Build([.. "{\"a"u8, 0xFF, .. "\":1}"u8], []), "the header is not valid UTF-8" },
        { "entry not an object", Build("{\"a\":5}", []), "tensor 'a' is a JSON number" },
        { "dtype missing", Build("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", F32(1)), "tensor 'a' has no 'dtype'" },
        { "shape missing", Build("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", F32(1)), "tensor 'a' has no 'shape'" },
        { "offsets missing", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", F32(1)), "tensor 'a' has no 'data_offsets'" },
        { "dtype not a string", Build("{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", F32(1)), "tensor 'a': 'dtype' is a JSON number" },
        { "shape not an array", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":\"1\",\"data_offsets\":[0,4]}}", F32(1)), "tensor 'a': 'shape' is a JSON string" },
        { "negative dimension", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", F32(1)), "tensor 'a': 'shape' element 0 is -1" },
        { "fractional dimension", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", F32(1)), "tensor 'a': 'shape' element 0 is 1.5" },
        { "three offsets", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", F32(1)), "tensor 'a': 'data_offsets' has 3 numbers" },
        { "offsets reversed", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}", F32(1)), "tensor 'a': data_offsets [4, 0] end before" },
        { "unknown dtype", Build("{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", F32(1)), "tensor 'a': unknown dtype 'F33'" },
        { "unsupported dtype", Build("{\"a\":{\"dtype\":\"U32\",\"shape\":[1],\"data_offsets\":[0,4]}}", F32(1)), "tensor 'a': unsupported dtype 'U32'" },
        { "size mismatch", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", F32(1)), "tensor 'a': shape [2] of F32 needs 8 bytes, but data_offsets [0, 4] span 4" },
        { "too many elements", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[65536,65536],\"data_offsets\":[0,4]}}", F32(1)), "tensor 'a': shape [65536, 65536] has more than" },
        { "out of range", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", F32(1)), "tensor 'a': data_offsets [0, 8] run past the end of the 4-byte data buffer" },
        { "overlap", Build("{" + A4 + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", F32(1, 2)), "overlap tensor 'a'" },
        { "gap", Build("{" + A4 + ",\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", F32(1, 2, 3)), "tensor 'b': data_offsets [8, 12] leave a gap after tensor 'a'" },
        { "gap at start", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", F32(1, 2)), "tensor 'a': data_offsets [4, 8] leave a gap after the start" },
        { "trailing bytes", Build("{" + A4 + "}", F32(1, 2)), "4 trailing bytes after the last tensor 'a'" },
        { "trailing bytes, no tensors", Build("{}", F32(1)), "4 trailing bytes after no tensor" },
        { "duplicate name", Build("{" + A4 + "," + A4 + "}", F32(1)), "'a' appears more than once" },
        { "metadata not an object", Build("{\"__metadata__\":[1]," + A4 + "}", F32(1)), "'__metadata__' is a JSON array" },
        { "metadata value not a string", Build("{\"__metadata__\":{\"epoch\":3}," + A4 + "}", F32(1)), "metadata 'epoch' is a JSON number" },
        { "duplicate metadata", Build("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}," + A4 + "}", F32(1)), "metadata 'k' appears more than once" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Load_RefusesMalformedFiles_NamingFileAndEntry(string what, byte[] bytes, string expected)
    {
        string path = _dir.File("bad.safetensors");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{what}: '{e.Message}' does not contain '{expected}'");
    }

    [Theory]
    [InlineData(200L * 1024 * 1024, SafeTensors.DefaultMaxHeaderBytes, "exceeds the limit of 104857600 bytes")]
    [InlineData(1L << 30, long.MaxValue, "exceeds the 2 bytes that follow it")]
    [InlineData(ulong.MaxValue, long.MaxValue, "header length 18446744073709551615 exceeds")]
    public void Load_RefusesAnOversizedHeader_WithoutAllocatingIt(ulong headerLength, long limit, string expected)
    {
        string path = _dir.File("huge.safetensors");
        var bytes = new byte[10];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength);
        "{}"u8.CopyTo(bytes.AsSpan(8));
        File.WriteAllBytes(path, bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path, limit));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes while refusing the header");
    }

    [Fact]
    public void Load_RespectsASmallerHeaderLimit()
    {
        string path = _dir.File("a.safetensors");
        SafeTensors.Save(path, [T("a", Tensor.Ones(1))]);
        Assert.Contains("exceeds the limit of 16 bytes", Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path, maxHeaderBytes: 16)).Message, StringComparison.Ordinal);
    }

    static IEnumerable<KeyValuePair<string, Tensor>> ThrowsMidway()
    {
        yield return T("a", Tensor.Ones(1000));
        throw new InvalidOperationException("enumeration failed");
    }

    [Fact]
    public void Save_FailingMidway_LeavesTheOldFileAndNoTempFile()
    {
        string path = _dir.File("model.safetensors");
        SafeTensors.Save(path, [T("old", Tensor.FromArray([1f, 2f], 2))]);
        var before = File.ReadAllBytes(path);

        Assert.Throws<InvalidOperationException>(() => SafeTensors.Save(path, ThrowsMidway()));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["model.safetensors"], _dir.Entries());

        // Failing after the header and part of the data are written: the second tensor cannot be an I64.
        Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, [T("a", Tensor.Ones(300_000)), T("b", Tensor.Scalar(0.5f))],
            dtypes: new Dictionary<string, string> { ["b"] = "I64" }));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["model.safetensors"], _dir.Entries());
        Assert.Equal([1f, 2f], SafeTensors.Load(path).Tensors["old"].ToArray());
    }

    [Fact]
    public void Save_ReplacesAnExistingFile_AndFailsCleanlyWithoutAFolder()
    {
        string path = _dir.File("m.safetensors");
        SafeTensors.Save(path, [T("a", Tensor.Ones(3))]);
        SafeTensors.Save(path, [T("b", Tensor.Zeros(2))]);
        Assert.Equal(["b"], SafeTensors.Load(path).Tensors.Keys);
        Assert.Equal(["m.safetensors"], _dir.Entries());

        Assert.Throws<DirectoryNotFoundException>(() => SafeTensors.Save(_dir.File("missing/m.safetensors"), [T("a", Tensor.Ones(1))]));
        Assert.Equal(["m.safetensors"], _dir.Entries());
    }

    [Fact]
    public void Save_HeaderIsPlainJsonWithTheSpecsFields()
    {
        string path = _dir.File("h.safetensors");
        SafeTensors.Save(path, [T("w", Tensor.Ones(2, 3))], new Dictionary<string, string> { ["k"] = "v" });
        var bytes = File.ReadAllBytes(path);
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, n % 8);
        Assert.Equal(8 + n + 24, bytes.Length);
        Assert.Equal("""{"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}""", Encoding.UTF8.GetString(bytes, 8, n).TrimEnd(' '));
    }
}
