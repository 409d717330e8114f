using System.Buffers;
using System.Buffers.Binary;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using TorchSharp;
using static TorchSharp.torch;

namespace UNet.Segmentation.Serialization;

/// <summary>
/// Reads and writes the safetensors format (https://github.com/huggingface/safetensors): an
/// unsigned 64-bit little-endian header length N, N bytes of UTF-8 JSON header, then the tensor
/// data, row-major and little-endian, without gaps: the layout <c>safetensors.torch.load_file</c>
/// reads. Checked in tests against the peer's independent reader and writer (tests/peer).
/// </summary>
/// <remarks>
/// <para>Supported dtypes: F64, F32, F16, BF16, I64, I32, I16, I8, U8 and BOOL. Files holding any
/// other dtype are rejected with a <see cref="SafetensorsFormatException"/>.</para>
/// <para>Reading validates as the reference Rust implementation does, and also rejects duplicate
/// JSON keys and BOOL bytes other than 0 and 1. No allocation is sized from the file before the
/// size has been checked against the file's length.</para>
/// </remarks>
public static partial class Safetensors
{
    /// <summary>The largest header accepted, in bytes (the reference implementation's limit).</summary>
    public const long MaxHeaderLength = 100_000_000;

    /// <summary>The header key of the string-to-string metadata.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>Tensors larger than this are copied through the pooled buffer in pieces.</summary>
    internal const int DefaultChunkBytes = 64 << 20;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    // ---- dtype codes --------------------------------------------------------------------------

    private static readonly string[] UnsupportedCodes =
        ["F8_E5M2", "F8_E4M3", "F8_E8M0", "E8M0", "F4", "F6_E2M3", "F6_E3M2", "U16", "U32", "U64", "C64"];

    /// <summary>The safetensors dtype code of a scalar type ("F32", "BF16", ...).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The type is not one safetensors files here hold.</exception>
    public static string DtypeCode(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 => "F64",
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a scalar type safetensors can hold"),
    };

    private static bool TryParseDtype(string code, out ScalarType dtype)
    {
        switch (code)
        {
            case "F64": dtype = ScalarType.Float64; return true;
            case "F32": dtype = ScalarType.Float32; return true;
            case "F16": dtype = ScalarType.Float16; return true;
            case "BF16": dtype = ScalarType.BFloat16; return true;
            case "I64": dtype = ScalarType.Int64; return true;
            case "I32": dtype = ScalarType.Int32; return true;
            case "I16": dtype = ScalarType.Int16; return true;
            case "I8": dtype = ScalarType.Int8; return true;
            case "U8": dtype = ScalarType.Byte; return true;
            case "BOOL": dtype = ScalarType.Bool; return true;
            default: dtype = default; return false;
        }
    }

    // ---- writing ------------------------------------------------------------------------------
}
