namespace UNet.Segmentation.Visualization;

/// <summary>Pictures of images, labels and predictions as 8-bit RGB pixels (the tensor side: <c>BatchPictures</c> in UNet.Segmentation).</summary>
public static class Overlays
{
    /// <summary>The colour of membrane (class 0) pixels in overlays.</summary>
    public static readonly (byte R, byte G, byte B) MembraneColour = (255, 40, 40);

    /// <summary>
    /// Interleaved RGB: the grey image with membrane pixels blended half-way towards
    /// <see cref="MembraneColour"/>. <paramref name="gray"/> and <paramref name="labels"/> (0 =
    /// membrane) have the same length.
    /// </summary>
    public static byte[] Blend(ReadOnlySpan<byte> gray, ReadOnlySpan<byte> labels)
    {
        if (gray.Length != labels.Length) throw new ArgumentException($"image has {gray.Length} pixels, labels {labels.Length}", nameof(labels));
        var rgb = new byte[gray.Length * 3];
        var (r, g, b) = MembraneColour;
        for (int i = 0; i < gray.Length; i++)
        {
            byte v = gray[i];
            bool membrane = labels[i] == 0;
            rgb[3 * i] = membrane ? (byte)((v + r) / 2) : v;
            rgb[3 * i + 1] = membrane ? (byte)((v + g) / 2) : v;
            rgb[3 * i + 2] = membrane ? (byte)((v + b) / 2) : v;
        }
        return rgb;
    }

    /// <summary>
    /// The colours of classes 1, 2, … in class overlays (class 0, the background, is not tinted);
    /// past the last colour they repeat.
    /// </summary>
    public static readonly IReadOnlyList<(byte R, byte G, byte B)> ClassColours =
        [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212)];

    /// <summary>
    /// Interleaved RGB: the image (<paramref name="channels"/> 1, grey, or 3, interleaved RGB, 8-bit)
    /// with each pixel of class k ≥ 1 blended half-way towards <see cref="ClassColours"/>[k − 1].
    /// </summary>
    public static byte[] BlendClasses(ReadOnlySpan<byte> image, int channels, ReadOnlySpan<byte> classes)
    {
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "images are grey (1) or RGB (3)");
        if (image.Length != classes.Length * channels)
            throw new ArgumentException($"the image has {image.Length / channels} pixels, the classes {classes.Length}", nameof(classes));
        var rgb = new byte[classes.Length * 3];
        for (int i = 0; i < classes.Length; i++)
        {
            for (int c = 0; c < 3; c++) rgb[3 * i + c] = image[channels == 1 ? i : 3 * i + c];
            if (classes[i] == 0) continue;
            var (r, g, b) = ClassColours[(classes[i] - 1) % ClassColours.Count];
            rgb[3 * i] = (byte)((rgb[3 * i] + r) / 2);
            rgb[3 * i + 1] = (byte)((rgb[3 * i + 1] + g) / 2);
            rgb[3 * i + 2] = (byte)((rgb[3 * i + 2] + b) / 2);
        }
        return rgb;
    }
}
