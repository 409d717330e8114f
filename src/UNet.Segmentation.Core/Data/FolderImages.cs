using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Data;

/// <summary>
/// Images and masks of a <c>FolderDataset</c> as the pipeline wants them: images as their
/// stored values, channels first, with the divisor that scales them to [−1, 1] (8-bit x/127.5 − 1,
/// 16-bit x/32767.5 − 1, the reference's scaling, applied by <c>FolderImageTensors.ToTensor</c> with the
/// same tensor operations as <c>Preprocessing.Images</c>, so an 8-bit image gives the very
/// values an ISBI slice does); masks as class indices checked against the number of classes.
/// </summary>
internal static class FolderImages
{
    /// <summary>An image's stored values, channels first (C×H×W), and (2^bits − 1)/2.</summary>
    public sealed record Image(int Width, int Height, int Channels, float[] Samples, double Half)
    {
        /// <summary>C×H×W float32 in [−1, 1]: x / Half − 1 in float32, as the tensor path computes it (<c>FolderImageTensors.ToTensor</c>).</summary>
        public float[] ToNetworkInput()
        {
            var result = new float[Samples.Length];
            float half = (float)Half;
            for (int i = 0; i < result.Length; i++) result[i] = Samples[i] / half - 1f;
            return result;
        }

        /// <summary>The image as interleaved 8-bit samples (16-bit ones scaled down), for pictures.</summary>
        public byte[] ToBytes()
        {
            int area = Width * Height;
            var bytes = new byte[area * Channels];
            double scale = 127.5 / Half;
            for (int p = 0; p < area; p++)
                for (int c = 0; c < Channels; c++)
                    bytes[p * Channels + c] = (byte)Math.Clamp(Math.Round(Samples[c * area + p] * scale), 0, 255);
            return bytes;
        }
    }

    /// <summary>A mask's class index per pixel, row-major.</summary>
    public sealed record Mask(int Width, int Height, byte[] Classes);

    public static Image ReadImage(string path) => FromDecoded(Decode(path));

    /// <summary>A decoded image (grey or RGB: the decoder drops alpha) as stored values, channels first.</summary>
    public static Image FromDecoded(DecodedImage d)
    {
        double half = ((1 << d.BitsPerSample) - 1) / 2.0;
        int area = d.Width * d.Height;
        var samples = new float[area * d.Channels];
        // Interleaved (pixel-major) samples to channels first.
        for (int p = 0; p < area; p++)
            for (int c = 0; c < d.Channels; c++)
                samples[c * area + p] = d.Samples[p * d.Channels + c];
        return new Image(d.Width, d.Height, d.Channels, samples, half);
    }

    /// <summary>
    /// The class indices of a grey mask (an RGB mask whose three channels are equal counts as grey).
    /// Values must lie in 0..classes−1; for two classes a mask of only 0 and 255 is read as 0 and 1.
    /// </summary>
    public static Mask ReadMask(string path, int classes)
    {
        var d = Decode(path);
        int area = d.Width * d.Height;
        var values = new int[area];
        for (int p = 0; p < area; p++)
        {
            int v = d.Samples[p * d.Channels];
            for (int c = 1; c < d.Channels; c++)
                if (d.Samples[p * d.Channels + c] != v)
                    throw new DataFileException(path, $"is a colour mask (pixel x={p % d.Width}, y={p / d.Width} differs between channels); masks hold one class index per pixel");
            values[p] = v;
        }
        bool binary255 = classes == 2 && values.All(v => v is 0 or 255);
        var result = new byte[area];
        for (int p = 0; p < area; p++)
        {
            int v = binary255 ? values[p] / 255 : values[p];
            if (v >= classes)
                throw new DataFileException(path, $"has the value {values[p]} at x={p % d.Width}, y={p / d.Width}, outside the {classes} classes 0..{classes - 1}" +
                    (classes == 2 ? " (two-class masks may also be 0/255)" : ""));
            result[p] = (byte)v;
        }
        return new Mask(d.Width, d.Height, result);
    }

    private static DecodedImage Decode(string path)
    {
        try
        {
            return ImageFiles.Read(path);
        }
        catch (ImageFormatException e)
        {
            throw new DataFileException(path, e.Message, e);
        }
    }
}
