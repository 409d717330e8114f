using System.Buffers;

namespace UNet.Segmentation.Data;

/// <summary>
/// A synthetic stand-in for the ISBI 2012 EM data: grey slices of cells with dark membranes, and
/// their binary membrane labels, shaped like <c>train-volume.tif</c> and <c>train-labels.tif</c>.
/// For tests, benchmarks and smoke runs where the real data are absent; not for published numbers.
/// </summary>
/// <remarks>
/// Each slice is an independent random Voronoi tiling: one seed per cell of a square grid,
/// jittered inside it. A pixel is membrane where the distances to its two nearest seeds differ by
/// less than a width that varies from one cell boundary to the next and smoothly in space
/// (between <see cref="SyntheticEmOptions.MembraneWidthMin"/> and <see cref="SyntheticEmOptions.MembraneWidthMax"/>).
/// Interiors are mid-grey with a per-cell shade, a few octaves of value-noise texture and small
/// dark organelle blobs (labelled interior, as ISBI labels vesicles and mitochondria); membranes are
/// dark with soft edges; Gaussian noise covers everything. Each slice draws from its own
/// <see cref="Random"/> seeded from (<see cref="SyntheticEmOptions.Seed"/>, slice), so the bytes do
/// not depend on the number of threads that render the slices.
/// </remarks>
public static class SyntheticEm
{
    /// <summary>Label value of membrane pixels (ISBI 2012's convention).</summary>
    public const byte Membrane = 0;

    /// <summary>Label value of cell-interior pixels (ISBI 2012's convention).</summary>
    public const byte Interior = 255;

    /// <summary>Generates a volume and its labels.</summary>
    /// <param name="options">What to generate; validated first.</param>
    /// <returns>Images: uint8 grey levels; Labels: <see cref="Membrane"/> (0) or <see cref="Interior"/> (255).
    /// Both hold <c>Slices × Size × Size</c> bytes, page-major, rows top to bottom, each row left to right.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range; the exception names it.</exception>
    public static (byte[] Images, byte[] Labels) Generate(SyntheticEmOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.EnsureValid();
        int page = options.Size * options.Size;
        var images = new byte[(long)options.Slices * page];
        var labels = new byte[images.Length];
        Parallel.For(0, options.Slices, slice =>
            RenderSlice(options, slice, images.AsSpan(slice * page, page), labels.AsSpan(slice * page, page)));
        return (images, labels);
    }

    private static void RenderSlice(SyntheticEmOptions o, int slice, Span<byte> image, Span<byte> label)
    {
        int size = o.Size;
        uint sliceKey = Hash((uint)o.Seed, (uint)slice);
        var random = new Random((int)(sliceKey & 0x7fffffff));
        var tiling = new VoronoiTiling(random, size, o.MeanCellDiameter, o.MembraneWidthMax + 1);
        var texture = new FractalNoise(random, size, 48f, 3);
        var widthField = new ValueNoise(random, size, (float)(2.5 * o.MeanCellDiameter));
        float widthMin = (float)o.MembraneWidthMin, widthRange = (float)(o.MembraneWidthMax - o.MembraneWidthMin);

        float[] rented = ArrayPool<float>.Shared.Rent(size * size);
        Span<float> grey = rented.AsSpan(0, size * size);
        try
        {
            Span<float> candidateX = stackalloc float[tiling.MaxCandidates];
            Span<float> candidateY = stackalloc float[tiling.MaxCandidates];
            Span<int> candidateId = stackalloc int[tiling.MaxCandidates];
            for (int y = 0; y < size; y++)
            {
                float py = y + 0.5f;
                int cellRow = tiling.CellOf(py), cellColumn = -1, count = 0;
                for (int x = 0; x < size; x++)
                {
                    float px = x + 0.5f;
                    int column = tiling.CellOf(px);
                    if (column != cellColumn)
                    {
                        cellColumn = column;
                        count = tiling.Gather(column, cellRow, candidateX, candidateY, candidateId);
                    }

                    float best = float.PositiveInfinity, second = float.PositiveInfinity;
                    int bestId = 0, secondId = 0;
                    for (int k = 0; k < count; k++)
                    {
                        float dx = px - candidateX[k], dy = py - candidateY[k];
                        float d = dx * dx + dy * dy;
                        if (d >= second) continue;
                        if (d < best)
                        {
                            second = best;
                            secondId = bestId;
                            best = d;
                            bestId = candidateId[k];
                        }
                        else
                        {
                            second = d;
                            secondId = candidateId[k];
                        }
                    }

                    float gap = MathF.Sqrt(second) - MathF.Sqrt(best);
                    uint pair = Hash(sliceKey, (uint)Math.Min(bestId, secondId) * 0x9e3779b1u + (uint)Math.Max(bestId, secondId));
                    float blend = 0.5f * Unit(pair) + 0.5f * widthField.Sample(px, py);
                    float width = widthMin + widthRange * blend;
                    int i = y * size + x;
                    label[i] = gap < width ? Membrane : Interior;

                    float t = texture.Sample(px, py) - 0.5f;
                    float interior = 142f + tiling.Shade[bestId] + 56f * t;
                    float membrane = 76f + 24f * t;
                    float darkness = Math.Clamp((width + 0.75f - gap) / 1.5f, 0f, 1f); // soft edge, 0.5 at the label boundary
                    grey[i] = interior + (membrane - interior) * darkness;
                }
            }

            DrawOrganelles(random, o, tiling.Spacing, grey, label);
            Quantise(random, (float)(o.Noise * 255), grey, image);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rented);
        }
    }

    /// <summary>Small dark discs (vesicles) inside cells, left labelled interior; a disc that would touch a membrane is skipped.</summary>
    private static void DrawOrganelles(Random random, SyntheticEmOptions o, float spacing, Span<float> grey, ReadOnlySpan<byte> label)
    {
        int size = o.Size;
        int blobs = (int)Math.Round(1.2 * size * size / (spacing * spacing));
        for (int b = 0; b < blobs; b++)
        {
            float cx = random.NextSingle() * size, cy = random.NextSingle() * size;
            float radius = 1.5f + 3f * random.NextSingle();
            float depth = 40f + 35f * random.NextSingle();
            int x0 = Math.Max(0, (int)(cx - radius - 2)), x1 = Math.Min(size - 1, (int)(cx + radius + 2));
            int y0 = Math.Max(0, (int)(cy - radius - 2)), y1 = Math.Min(size - 1, (int)(cy + radius + 2));
            if (!AllInterior(label, size, x0, x1, y0, y1)) continue;
            for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
            {
                float dx = x + 0.5f - cx, dy = y + 0.5f - cy;
                float cover = Math.Clamp(radius + 0.5f - MathF.Sqrt(dx * dx + dy * dy), 0f, 1f);
                grey[y * size + x] -= depth * cover;
            }
        }
    }

    private static bool AllInterior(ReadOnlySpan<byte> label, int size, int x0, int x1, int y0, int y1)
    {
        for (int y = y0; y <= y1; y++)
            if (label.Slice(y * size + x0, x1 - x0 + 1).ContainsAnyExcept(Interior)) return false;
        return true;
    }

    /// <summary>Adds Gaussian noise (Box–Muller) and rounds to bytes, clamping to 0..255.</summary>
    private static void Quantise(Random random, float sigma, ReadOnlySpan<float> grey, Span<byte> image)
    {
        for (int i = 0; i < grey.Length; i += 2)
        {
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            double r = sigma * Math.Sqrt(-2.0 * Math.Log(u1));
            image[i] = ToByte(grey[i] + (float)(r * Math.Cos(2 * Math.PI * u2)));
            if (i + 1 < grey.Length) image[i + 1] = ToByte(grey[i + 1] + (float)(r * Math.Sin(2 * Math.PI * u2)));
        }
    }

    private static byte ToByte(float v) => (byte)Math.Clamp(MathF.Round(v), 0f, 255f);

    /// <summary>A 32-bit mix of two words (murmur3's finaliser over a combination).</summary>
    internal static uint Hash(uint a, uint b)
    {
        uint h = unchecked(a * 0x85ebca6bu ^ (b + 0x9e3779b9u + (a << 6) + (a >> 2)));
        h ^= h >> 16;
        h = unchecked(h * 0x85ebca6bu);
        h ^= h >> 13;
        h = unchecked(h * 0xc2b2ae35u);
        h ^= h >> 16;
        return h;
    }

    private static float Unit(uint h) => (h >> 8) * (1f / (1 << 24));
}
