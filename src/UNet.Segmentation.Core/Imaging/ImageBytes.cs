namespace UNet.Segmentation.Imaging;

/// <summary>Loads a whole image file into memory, where the readers work on it.</summary>
internal static class ImageBytes
{
    /// <summary>The file's bytes; <paramref name="tooLarge"/> makes the error for files over 2 GiB.</summary>
    public static byte[] Load(string path, Func<string, long, ImageFormatException> tooLarge)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Load(stream, path, tooLarge);
    }

    /// <summary>The stream's bytes from its position to its end.</summary>
    public static byte[] Load(Stream stream, string name, Func<string, long, ImageFormatException> tooLarge)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        if (stream.CanSeek)
        {
            long length = stream.Length - stream.Position;
            if (length > Array.MaxLength) throw tooLarge(name, length);
            var data = new byte[Math.Max(0, length)];
            stream.ReadExactly(data);
            return data;
        }
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        if (copy.Length > Array.MaxLength) throw tooLarge(name, copy.Length);
        return copy.ToArray();
    }
}
