namespace UNet.Segmentation.Imaging;

/// <summary>The compression schemes this library reads and writes.</summary>
public enum TiffCompression
{
    /// <summary>No compression (TIFF code 1).</summary>
    None,
    /// <summary>PackBits run-length coding (TIFF code 32773), each row packed separately when writing.</summary>
    PackBits,
    /// <summary>LZW (TIFF code 5); the reader also undoes horizontal differencing (Predictor 2).</summary>
    Lzw,
    /// <summary>Deflate in a zlib wrapper (TIFF code 8; the reader also accepts the old code 32946).</summary>
    Deflate,
}
