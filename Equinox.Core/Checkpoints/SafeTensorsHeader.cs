using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Equinox.Tensors;

namespace Equinox.Checkpoints;

/// <summary>One tensor described by a safetensors header: its byte range is relative to the start of the data.</summary>
internal sealed record SafeTensorsEntry(string Name, DType DType, long[] Shape, long Begin, long End);

/// <summary>
/// The safetensors layout (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// mapping each tensor's name to its dtype, shape and <c>data_offsets</c> (plus an optional <c>__metadata__</c> map of
/// strings), then the data. <see cref="Read"/> validates everything the format promises before any tensor is
/// allocated, so a bad file costs at most its header in memory.
/// </summary>
internal static class SafeTensorsHeader
{
    /// <summary>The largest header read (the reference implementation's limit).</summary>
    internal const long MaxHeaderBytes = 100_000_000;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    internal static string Name(DType dtype) => dtype switch
    {
        DType.Float64 => "F64", DType.Float32 => "F32", DType.Float16 => "F16", DType.BFloat16 => "BF16",
        DType.Int64 => "I64", DType.Int32 => "I32", DType.Int16 => "I16", DType.Int8 => "I8", DType.UInt8 => "U8",
        DType.Bool => "BOOL",
        _ => throw new NotSupportedException($"safetensors has no dtype for {dtype.ShortName()} tensors (complex tensors cannot be saved in this format)."),
    };

    private static DType? Parse(string name) => name switch
    {
        "F64" => DType.Float64, "F32" => DType.Float32, "F16" => DType.Float16, "BF16" => DType.BFloat16,
        "I64" => DType.Int64, "I32" => DType.Int32, "I16" => DType.Int16, "I8" => DType.Int8, "U8" => DType.UInt8,
        "BOOL" => DType.Bool,
        _ => null,
    };

    // Valid safetensors dtypes that LibTorch 1.13 has no tensor type for.
    private static readonly HashSet<string> Unsupported = ["U16", "U32", "U64", "F8_E4M3", "F8_E5M2"];

    /// <summary>The header bytes (JSON padded with spaces to a multiple of 8, as the format recommends) for these entries.</summary>
    internal static byte[] Write(IReadOnlyList<SafeTensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }
            foreach (var e in entries)
            {
                json.WriteStartObject(e.Name);
                json.WriteString("dtype", Name(e.DType));
                json.WriteStartArray("shape");
                foreach (var d in e.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(e.Begin);
                json.WriteNumberValue(e.End);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        int length = (int)buffer.Length;
        int padded = (length + 7) / 8 * 8;
        var header = new byte[8 + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)padded);
        buffer.GetBuffer().AsSpan(0, length).CopyTo(header.AsSpan(8));
        header.AsSpan(8 + length).Fill((byte)' ');
        return header;
    }

    /// <summary>
    /// Reads and validates the header of a file of <paramref name="fileLength"/> bytes: returns the entries (ordered by
    /// offset), the metadata and where the data starts. Throws <see cref="CheckpointException"/> for anything the
    /// format forbids.
    /// </summary>
    internal static (List<SafeTensorsEntry> Entries, Dictionary<string, string> Metadata, long DataStart) Read(
        Stream stream, long fileLength, string? file)
    {
        CheckpointException Bad(string message) => new(file, message);
        if (fileLength < 8)
            throw Bad($"the file is {fileLength} bytes; a safetensors file starts with an 8-byte header length.");
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)(fileLength - 8))
            throw Bad($"the header length at offset 0 is {headerLength} bytes, but only {fileLength - 8} bytes follow it (truncated or not a safetensors file).");
        if (headerLength > MaxHeaderBytes)
            throw Bad($"the header length at offset 0 is {headerLength} bytes, more than the {MaxHeaderBytes} a safetensors header may have.");
        if (headerLength < 2) throw Bad($"the header is {headerLength} bytes; it must be a JSON object.");
        var headerBytes = new byte[(int)headerLength];
        stream.ReadExactly(headerBytes);
        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;

        string text;
        try
        {
            text = StrictUtf8.GetString(headerBytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new CheckpointException(file, $"the header (bytes 8-{dataStart}) is not valid UTF-8.", e);
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new CheckpointException(file, $"the header (bytes 8-{dataStart}) is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw Bad("the header is not a JSON object.");
            var entries = new List<SafeTensorsEntry>();
            var metadata = new Dictionary<string, string>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!names.Add(property.Name)) throw Bad($"entry '{property.Name}' appears twice in the header.");
                if (property.Name == "__metadata__")
                {
                    if (property.Value.ValueKind != JsonValueKind.Object) throw Bad("__metadata__ is not an object of strings.");
                    foreach (var item in property.Value.EnumerateObject())
                    {
                        if (item.Value.ValueKind != JsonValueKind.String)
                            throw Bad($"__metadata__ entry '{item.Name}' is not a string.");
                        if (!metadata.TryAdd(item.Name, item.Value.GetString()!)) throw Bad($"__metadata__ entry '{item.Name}' appears twice.");
                    }
                    continue;
                }
                entries.Add(Entry(property, dataLength, Bad));
            }

            // The data must be exactly the entries' bytes, in some order, with no gap and no overlap.
            entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            long expected = 0;
            foreach (var e in entries)
            {
                if (e.Begin < expected) throw Bad($"entry '{e.Name}' (bytes {e.Begin}-{e.End} of the data) overlaps the entry before it.");
                if (e.Begin > expected) throw Bad($"the data has a gap at bytes {expected}-{e.Begin} before entry '{e.Name}'; safetensors data must be contiguous.");
                expected = e.End;
            }
            if (expected != dataLength)
                throw Bad($"the entries cover {expected} bytes of data but the file holds {dataLength} after the header (extra or missing bytes at data offset {expected}).");
            return (entries, metadata, dataStart);
        }
    }

    private static SafeTensorsEntry Entry(JsonProperty property, long dataLength, Func<string, CheckpointException> bad)
    {
        var name = property.Name;
        var value = property.Value;
        if (value.ValueKind != JsonValueKind.Object) throw bad($"entry '{name}' is not an object with dtype, shape and data_offsets.");
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw bad($"entry '{name}' has no dtype string.");
        var dtypeName = dtypeElement.GetString()!;
        var dtype = Parse(dtypeName) ?? throw bad(Unsupported.Contains(dtypeName)
            ? $"entry '{name}' has dtype {dtypeName}, which LibTorch 1.13 has no tensor type for."
            : $"entry '{name}' has an unknown dtype '{dtypeName}'.");

        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw bad($"entry '{name}' has no shape array.");
        var shape = new long[shapeElement.GetArrayLength()];
        long elements = 1;
        bool overflow = false;
        int i = 0;
        foreach (var d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var size) || size < 0)
                throw bad($"entry '{name}' has shape {shapeElement.GetRawText()}: each size must be a non-negative integer.");
            shape[i++] = size;
            if (size != 0 && elements > long.MaxValue / size) overflow = true;
            else elements *= size;
        }
        if (shape.Contains(0)) (elements, overflow) = (0, false);
        if (overflow || elements > long.MaxValue / dtype.ElementSize())
            throw bad($"entry '{name}' has shape {shapeElement.GetRawText()}, more bytes than any file can hold.");

        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw bad($"entry '{name}' has no data_offsets [begin, end].");
        var begin = offsets[0];
        var end = offsets[1];
        if (begin.ValueKind != JsonValueKind.Number || end.ValueKind != JsonValueKind.Number ||
            !begin.TryGetInt64(out var b) || !end.TryGetInt64(out var e) || b < 0 || e < b)
            throw bad($"entry '{name}' has data_offsets {offsets.GetRawText()}: they must be integers with 0 <= begin <= end.");
        if (e > dataLength)
            throw bad($"entry '{name}' has data_offsets [{b}, {e}] past the end of the data ({dataLength} bytes).");
        long bytes = elements * dtype.ElementSize();
        if (e - b != bytes)
            throw bad($"entry '{name}' is {dtypeName} {shapeElement.GetRawText()}, {bytes} bytes, but its data_offsets [{b}, {e}] span {e - b}.");
        foreach (var other in value.EnumerateObject())
            if (other.Name is not ("dtype" or "shape" or "data_offsets"))
                throw bad($"entry '{name}' has an unknown field '{other.Name}'.");
        return new SafeTensorsEntry(name, dtype, shape, b, e);
    }
}
