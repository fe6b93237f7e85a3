/// <summary>
/// 8x8 grey-scale digits drawn in code (no download): each digit is a few pen strokes in a unit square, bent by a
/// random affine map (rotation, scale, shear, shift) and per-point jitter, drawn with a random pen width, anti-aliased
/// by 3x3 supersampling, and given pixel noise. Pixels are in [0, 1]. The same seed gives the same images.
/// </summary>
internal static class Digits
{
    public const int Size = 8;

    // Strokes per digit: polylines in a unit square (x to the right, y downwards).
    private static readonly (double X, double Y)[][][] Strokes =
    [
        [Ellipse(0.5, 0.5, 0.28, 0.4, 14)],
        [[(0.32, 0.28), (0.55, 0.08), (0.55, 0.92)]],
        [[(0.22, 0.3), (0.33, 0.12), (0.58, 0.08), (0.75, 0.25), (0.68, 0.48), (0.22, 0.92), (0.8, 0.92)]],
        [[(0.22, 0.12), (0.72, 0.12), (0.45, 0.44), (0.72, 0.6), (0.72, 0.8), (0.5, 0.92), (0.22, 0.85)]],
        [[(0.65, 0.92), (0.65, 0.08), (0.18, 0.65), (0.82, 0.65)]],
        [[(0.76, 0.1), (0.3, 0.1), (0.27, 0.45), (0.58, 0.4), (0.76, 0.6), (0.66, 0.88), (0.24, 0.88)]],
        [[(0.72, 0.1), (0.42, 0.28), (0.26, 0.62), (0.38, 0.9), (0.64, 0.88), (0.74, 0.66), (0.55, 0.5), (0.28, 0.6)]],
        [[(0.2, 0.1), (0.8, 0.1), (0.42, 0.92)]],
        [Ellipse(0.5, 0.29, 0.2, 0.2, 10), Ellipse(0.5, 0.71, 0.25, 0.21, 10)],
        [Ellipse(0.48, 0.32, 0.22, 0.22, 10), [(0.7, 0.32), (0.62, 0.92)]],
    ];

    /// <summary><paramref name="count"/> images <c>[count, 1, 8, 8]</c> as floats, and labels 0-9 spread evenly.</summary>
    public static (float[] Pixels, long[] Labels) Make(int count, int seed)
    {
        var random = new Random(seed);
        var pixels = new float[count * Size * Size];
        var labels = new long[count];
        for (int n = 0; n < count; n++)
        {
            int digit = n % 10;
            labels[n] = digit;
            Draw(Strokes[digit], random, pixels.AsSpan(n * Size * Size, Size * Size));
        }
        return (pixels, labels);
    }

    /// <summary><paramref name="count"/> consecutive images side by side as text, denser characters for brighter pixels.</summary>
    public static string Render(ReadOnlySpan<float> images, int count)
    {
        const string shades = " .:-=+*#%@";
        var text = new System.Text.StringBuilder();
        for (int row = 0; row < Size; row++)
        {
            for (int image = 0; image < count; image++)
            {
                for (int column = 0; column < Size; column++)
                {
                    int level = (int)Math.Round(Math.Clamp(images[image * Size * Size + row * Size + column], 0, 1) * (shades.Length - 1));
                    text.Append(shades[level], 2);
                }
                text.Append("  ");
            }
            text.Append('\n');
        }
        return text.ToString();
    }

    private static void Draw((double X, double Y)[][] strokes, Random random, Span<float> image)
    {
        double Uniform(double low, double high) => low + (high - low) * random.NextDouble();
        double angle = Uniform(-0.25, 0.25), shear = Uniform(-0.25, 0.25);
        double scaleX = Uniform(0.75, 1.1), scaleY = Uniform(0.8, 1.1);
        double shiftX = Uniform(-0.08, 0.08), shiftY = Uniform(-0.08, 0.08);
        double pen = Uniform(0.06, 0.11);
        var (cos, sin) = (Math.Cos(angle), Math.Sin(angle));
        (double X, double Y) Map((double X, double Y) p)
        {
            double x = (p.X - 0.5 + Uniform(-0.04, 0.04)) * scaleX, y = (p.Y - 0.5 + Uniform(-0.04, 0.04)) * scaleY;
            x += shear * y;
            return (0.5 + cos * x - sin * y + shiftX, 0.5 + sin * x + cos * y + shiftY);
        }
        var segments = new List<((double X, double Y) A, (double X, double Y) B)>();
        foreach (var stroke in strokes)
        {
            var mapped = stroke.Select(Map).ToArray();
            for (int i = 0; i + 1 < mapped.Length; i++) segments.Add((mapped[i], mapped[i + 1]));
        }
        const int Sub = 3;
        for (int row = 0; row < Size; row++)
        {
            for (int column = 0; column < Size; column++)
            {
                double ink = 0;
                for (int sy = 0; sy < Sub; sy++)
                {
                    for (int sx = 0; sx < Sub; sx++)
                    {
                        var p = ((column + (sx + 0.5) / Sub) / Size, (row + (sy + 0.5) / Sub) / Size);
                        double distance = segments.Min(s => Distance(p, s.A, s.B));
                        ink += distance <= pen ? 1 : 0;
                    }
                }
                double value = ink / (Sub * Sub) + 0.08 * Gaussian(random);
                image[row * Size + column] = (float)Math.Clamp(value, 0, 1);
            }
        }
    }

    private static double Distance((double X, double Y) p, (double X, double Y) a, (double X, double Y) b)
    {
        double dx = b.X - a.X, dy = b.Y - a.Y;
        double t = Math.Clamp(((p.X - a.X) * dx + (p.Y - a.Y) * dy) / Math.Max(dx * dx + dy * dy, 1e-12), 0, 1);
        double ex = a.X + t * dx - p.X, ey = a.Y + t * dy - p.Y;
        return Math.Sqrt(ex * ex + ey * ey);
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static (double X, double Y)[] Ellipse(double cx, double cy, double rx, double ry, int points) =>
        [.. Enumerable.Range(0, points + 1).Select(i => (cx + rx * Math.Sin(2 * Math.PI * i / points), cy - ry * Math.Cos(2 * Math.PI * i / points)))];
}
