namespace UNet.Segmentation.Imaging;

/// <summary>
/// A decompressor found damaged data. Internal: the reader catches it and throws a
/// <see cref="TiffFormatException"/> naming the file, page and strip.
/// </summary>
internal sealed class TiffCodecException(string message) : Exception(message);
