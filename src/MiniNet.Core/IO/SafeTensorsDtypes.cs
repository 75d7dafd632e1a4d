// Element conversions between safetensors dtypes and MiniNet's float32, little endian on the wire.
// Reading: every supported dtype converts to float32 (F64 and I64 round to the nearest float, BF16/F16
// widen exactly, BOOL is 0 or 1). Writing: floats narrow with round-to-nearest-even; integer dtypes and
// BOOL accept only values they hold exactly (an integral float in range; 0 or 1), anything else is an
// error rather than a silent truncation.
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace MiniNet.IO;

static class SafeTensorsDtypes
{
    /// <summary>The dtypes MiniNet reads and writes, in the spelling of the safetensors header.</summary>
    public static readonly string[] Supported = ["F32", "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"];

    // Dtypes of the format that MiniNet does not convert (named so that the error can say so).
    static readonly string[] Known = ["U16", "U32", "U64", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"];

    public static bool IsSupported(string dtype) => Supported.Contains(dtype, StringComparer.Ordinal);

    public static bool IsKnownUnsupported(string dtype) => Known.Contains(dtype, StringComparer.Ordinal);

    /// <summary>Bytes per element.</summary>
    public static int Size(string dtype) => dtype switch
    {
        "F64" or "I64" => 8,
        "F32" or "I32" => 4,
        "F16" or "BF16" or "I16" => 2,
        "I8" or "U8" or "BOOL" => 1,
        _ => throw new ArgumentException($"SafeTensors: unsupported dtype '{dtype}'.", nameof(dtype)),
    };

    /// <summary>Decodes <c>destination.Length</c> elements of <paramref name="dtype"/> from <paramref name="source"/>.</summary>
    public static void Decode(string dtype, ReadOnlySpan<byte> source, Span<float> destination)
    {
        int n = destination.Length;
        switch (dtype)
        {
            case "F32":
                if (BitConverter.IsLittleEndian) MemoryMarshal.Cast<byte, float>(source[..(4 * n)]).CopyTo(destination);
                else for (int i = 0; i < n; i++) destination[i] = BinaryPrimitives.ReadSingleLittleEndian(source[(4 * i)..]);
                break;
            case "F64": for (int i = 0; i < n; i++) destination[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(source[(8 * i)..]); break;
            case "F16": for (int i = 0; i < n; i++) destination[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(source[(2 * i)..]); break;
            case "BF16": for (int i = 0; i < n; i++) destination[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(source[(2 * i)..]) << 16); break;
            case "I64": for (int i = 0; i < n; i++) destination[i] = BinaryPrimitives.ReadInt64LittleEndian(source[(8 * i)..]); break;
            case "I32": for (int i = 0; i < n; i++) destination[i] = BinaryPrimitives.ReadInt32LittleEndian(source[(4 * i)..]); break;
            case "I16": for (int i = 0; i < n; i++) destination[i] = BinaryPrimitives.ReadInt16LittleEndian(source[(2 * i)..]); break;
            case "I8": for (int i = 0; i < n; i++) destination[i] = (sbyte)source[i]; break;
            case "U8": for (int i = 0; i < n; i++) destination[i] = source[i]; break;
            case "BOOL": for (int i = 0; i < n; i++) destination[i] = source[i] != 0 ? 1f : 0f; break;
            default: throw new ArgumentException($"SafeTensors: unsupported dtype '{dtype}'.", nameof(dtype));
        }
    }

    /// <summary>
    /// Encodes <paramref name="source"/> as <paramref name="dtype"/> into <paramref name="destination"/>;
    /// returns the index of the first element the dtype cannot hold exactly (integer and BOOL dtypes), or −1.
    /// </summary>
    public static int Encode(string dtype, ReadOnlySpan<float> source, Span<byte> destination)
    {
        int n = source.Length;
        switch (dtype)
        {
            case "F32":
                if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(source).CopyTo(destination);
                else for (int i = 0; i < n; i++) BinaryPrimitives.WriteSingleLittleEndian(destination[(4 * i)..], source[i]);
                return -1;
            case "F64": for (int i = 0; i < n; i++) BinaryPrimitives.WriteDoubleLittleEndian(destination[(8 * i)..], source[i]); return -1;
            case "F16": for (int i = 0; i < n; i++) BinaryPrimitives.WriteHalfLittleEndian(destination[(2 * i)..], (Half)source[i]); return -1;
            case "BF16": for (int i = 0; i < n; i++) BinaryPrimitives.WriteUInt16LittleEndian(destination[(2 * i)..], ToBFloat16(source[i])); return -1;
            default: return EncodeExact(dtype, source, destination);
        }
    }

    // Integer and BOOL dtypes: each value must be one the dtype holds exactly.
    static int EncodeExact(string dtype, ReadOnlySpan<float> source, Span<byte> destination)
    {
        var (min, max) = dtype switch
        {
            // 2⁶³ and 2³¹ are exact floats; they and anything above are out of range.
            "I64" => (-9.223372036854775808e18, 9.223372036854775807e18),
            "I32" => (int.MinValue, int.MaxValue),
            "I16" => (short.MinValue, short.MaxValue),
            "I8" => (sbyte.MinValue, sbyte.MaxValue),
            "U8" or "BOOL" => (0.0, dtype == "BOOL" ? 1.0 : byte.MaxValue),
            _ => throw new ArgumentException($"SafeTensors: unsupported dtype '{dtype}'.", nameof(dtype)),
        };
        for (int i = 0; i < source.Length; i++)
        {
            float x = source[i];
            if (!float.IsFinite(x) || x != MathF.Truncate(x) || x < min || (double)x >= max + 1) return i;
            switch (dtype)
            {
                case "I64": BinaryPrimitives.WriteInt64LittleEndian(destination[(8 * i)..], (long)x); break;
                case "I32": BinaryPrimitives.WriteInt32LittleEndian(destination[(4 * i)..], (int)x); break;
                case "I16": BinaryPrimitives.WriteInt16LittleEndian(destination[(2 * i)..], (short)x); break;
                case "I8": destination[i] = unchecked((byte)(sbyte)x); break;
                default: destination[i] = (byte)x; break;
            }
        }
        return -1;
    }

    // float32 → bfloat16 with round-to-nearest-even on the 16 dropped bits; NaN stays a (quiet) NaN.
    static ushort ToBFloat16(float x)
    {
        uint bits = BitConverter.SingleToUInt32Bits(x);
        if (float.IsNaN(x)) return (ushort)((bits >> 16) | 0x0040);
        uint roundingBias = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }
}
