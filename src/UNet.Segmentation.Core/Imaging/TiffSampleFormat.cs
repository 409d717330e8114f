namespace UNet.Segmentation.Imaging;

/// <summary>The sample type shared by every page of a <see cref="TiffVolume"/>.</summary>
public enum TiffSampleFormat
{
    /// <summary>8-bit unsigned integers (BitsPerSample 8, SampleFormat 1).</summary>
    UInt8,
    /// <summary>16-bit unsigned integers (BitsPerSample 16, SampleFormat 1).</summary>
    UInt16,
    /// <summary>32-bit IEEE floats (BitsPerSample 32, SampleFormat 3).</summary>
    Float32,
}
