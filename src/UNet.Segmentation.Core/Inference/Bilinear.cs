namespace UNet.Segmentation.Inference;

/// <summary>
/// Bilinear resizing with half-pixel centres and no antialias: PyTorch's
/// <c>interpolate(mode="bilinear", align_corners=False)</c> and TensorFlow's
/// <c>resize(method="bilinear")</c>. Source coordinate (d + ½)·in/out − ½, clamped at 0; the
/// arithmetic in float32 as libtorch's CPU kernel does it.
/// </summary>
public static class Bilinear
{
    /// <summary>Every plane of <paramref name="images"/> resized to <paramref name="height"/>×<paramref name="width"/>.</summary>
    public static FloatImages Resize(FloatImages images, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        var (y0, y1, wy) = Axis(images.Height, height);
        var (x0, x1, wx) = Axis(images.Width, width);
        var result = FloatImages.Zeros(images.Count, images.Channels, height, width);
        int w = images.Width;
        for (int i = 0; i < images.Count; i++)
            for (int c = 0; c < images.Channels; c++)
            {
                ReadOnlySpan<float> from = images.Plane(i, c);
                var to = result.Plane(i, c);
                for (int y = 0; y < height; y++)
                {
                    var top = from.Slice(y0[y] * w, w);
                    var bottom = from.Slice(y1[y] * w, w);
                    float b = wy[y], a = 1f - b;
                    for (int x = 0; x < width; x++)
                    {
                        float r = wx[x], l = 1f - r;
                        to[y * width + x] = a * (l * top[x0[x]] + r * top[x1[x]]) + b * (l * bottom[x0[x]] + r * bottom[x1[x]]);
                    }
                }
            }
        return result;
    }

    private static (int[] Low, int[] High, float[] Weight) Axis(int input, int output)
    {
        float scale = (float)input / output;
        var low = new int[output];
        var high = new int[output];
        var weight = new float[output];
        for (int d = 0; d < output; d++)
        {
            float source = Math.Max(scale * (d + 0.5f) - 0.5f, 0f);
            int i = Math.Min((int)source, input - 1);
            low[d] = i;
            high[d] = i < input - 1 ? i + 1 : i;
            weight[d] = Math.Clamp(source - i, 0f, 1f);
        }
        return (low, high, weight);
    }
}
