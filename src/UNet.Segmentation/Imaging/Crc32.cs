namespace UNet.Segmentation.Imaging;

/// <summary>The CRC-32 that closes every PNG chunk (ISO 3309, reflected polynomial 0xEDB88320), table-driven.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    /// <summary>The CRC of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Update(Start, data));

    /// <summary>The register's value before any byte.</summary>
    public const uint Start = 0xFFFFFFFFu;

    /// <summary>Feeds <paramref name="data"/> into a running register.</summary>
    public static uint Update(uint register, ReadOnlySpan<byte> data)
    {
        var table = Table;
        foreach (byte b in data) register = table[(register ^ b) & 0xFF] ^ (register >> 8);
        return register;
    }

    /// <summary>The CRC of everything fed into <paramref name="register"/>.</summary>
    public static uint Finish(uint register) => register ^ 0xFFFFFFFFu;

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
