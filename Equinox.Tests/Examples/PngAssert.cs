using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using NUnit.Framework;

namespace Equinox.Tests.Examples;

// Opens a PNG and checks it is a real picture: the signature, an IHDR with a positive size, and pixel data that
// decodes (zlib + PNG's per-row filters) to more than one colour. Handles 8-bit grey, RGB, grey+alpha and RGBA,
// not interlaced: what ScottPlot (SkiaSharp) writes.
internal static class PngAssert
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    public static void IsAPicture(string path)
    {
        Assert.That(File.Exists(path), Is.True, $"{path} was written");
        var bytes = File.ReadAllBytes(path);
        Assert.That(bytes.Length, Is.GreaterThan(Signature.Length + 25), $"{path} is not empty");
        Assert.That(bytes[..8], Is.EqualTo(Signature), $"{path} starts with the PNG signature");

        int width = 0, height = 0, bitDepth = 0, colourType = 0, interlace = 0;
        var data = new MemoryStream();
        for (int offset = 8; offset + 12 <= bytes.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(offset));
            string type = Encoding.ASCII.GetString(bytes, offset + 4, 4);
            var body = bytes.AsSpan(offset + 8, length);
            if (offset == 8) Assert.That(type, Is.EqualTo("IHDR"), "the first chunk is IHDR");
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(body);
                height = BinaryPrimitives.ReadInt32BigEndian(body[4..]);
                (bitDepth, colourType, interlace) = (body[8], body[9], body[12]);
            }
            else if (type == "IDAT") data.Write(body);
            else if (type == "IEND") break;
            offset += 12 + length;
        }
        Assert.That(width, Is.GreaterThan(0), "IHDR width");
        Assert.That(height, Is.GreaterThan(0), "IHDR height");
        Assert.That(data.Length, Is.GreaterThan(0), "the image has pixel data (IDAT)");
        Assert.That((bitDepth, interlace), Is.EqualTo((8, 0)), "an 8-bit, non-interlaced PNG (what the examples write)");
        int channels = colourType switch { 0 => 1, 2 => 3, 4 => 2, 6 => 4, _ => 0 };
        Assert.That(channels, Is.Not.Zero, $"a grey, RGB, grey+alpha or RGBA PNG (colour type {colourType})");

        data.Position = 0;
        var raw = new MemoryStream();
        using (var zlib = new ZLibStream(data, CompressionMode.Decompress)) zlib.CopyTo(raw);
        int stride = width * channels;
        var pixels = raw.ToArray();
        Assert.That(pixels.Length, Is.EqualTo(height * (stride + 1)), "the decompressed rows fill the image");

        var previous = new byte[stride];
        var row = new byte[stride];
        var colours = new HashSet<long>();
        for (int y = 0; y < height; y++)
        {
            int filter = pixels[y * (stride + 1)];
            var line = pixels.AsSpan(y * (stride + 1) + 1, stride);
            for (int i = 0; i < stride; i++)
            {
                int left = i >= channels ? row[i - channels] : 0, up = previous[i], upLeft = i >= channels ? previous[i - channels] : 0;
                int predictor = filter switch
                {
                    0 => 0,
                    1 => left,
                    2 => up,
                    3 => (left + up) / 2,
                    4 => Paeth(left, up, upLeft),
                    _ => throw new AssertionException($"row {y} has an unknown PNG filter {filter}"),
                };
                row[i] = (byte)(line[i] + predictor);
            }
            for (int x = 0; x < width; x++)
            {
                long colour = 0;
                for (int c = 0; c < channels; c++) colour = colour << 8 | row[x * channels + c];
                colours.Add(colour);
            }
            (previous, row) = (row, previous);
        }
        Assert.That(colours, Has.Count.GreaterThan(2), "the picture has more than a background and one colour: a plot with its curve and text");
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
