using UNet.Segmentation.Torch;

/// <summary>Grey images of bright discs on a dark noisy background; the label is 1 inside a disc.</summary>
internal static class SyntheticCells
{
    public static (Tensor Images, Tensor Labels) Batch(Random random, int count, int size)
    {
        var images = new float[count * size * size];
        var labels = new long[count * size * size];
        for (int n = 0; n < count; n++)
        {
            int discs = random.Next(2, 5);
            var centres = Enumerable.Range(0, discs)
                .Select(_ => (X: random.Next(size), Y: random.Next(size), R: random.Next(size / 8, size / 4)))
                .ToArray();
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++)
                {
                    bool inside = centres.Any(c => (x - c.X) * (x - c.X) + (y - c.Y) * (y - c.Y) <= c.R * c.R);
                    int i = (n * size + y) * size + x;
                    labels[i] = inside ? 1 : 0;
                    images[i] = (inside ? 0.6f : -0.6f) + (float)(random.NextDouble() - 0.5) * 0.8f;
                }
        }
        return (Tensor.From<float>(images, [count, 1, size, size]), Tensor.From<long>(labels, [count, size, size]));
    }
}
