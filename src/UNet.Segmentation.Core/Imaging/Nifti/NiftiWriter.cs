using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace UNet.Segmentation.Imaging.Nifti;

/// <summary>Writes an image little-endian: the header in its version, a zero 4-byte extender, the voxels.</summary>
internal static class NiftiWriter
{
    private const int Chunk = 1 << 20;

    /// <summary>Checks that <paramref name="image"/> can be written (dimensions against the array, NIfTI-1's ranges); throws <see cref="ArgumentException"/> otherwise.</summary>
    public static byte[] Header(NiftiImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        NiftiImage.CheckLength(image.Header, image.Data);
        return NiftiHeaderCodec.Encode(image.Header, image.Header.Version);
    }

    public static void Write(Stream stream, NiftiImage image, byte[] header)
    {
        stream.Write(header);
        var data = image.Data;
        int itemSize = NiftiDataTypes.Size(image.DataType);
        long dataBytes = (long)data.Length * itemSize;
        byte[]? swapped = BitConverter.IsLittleEndian || itemSize == 1 ? null : new byte[Chunk];
        for (long at = 0; at < dataBytes; at += Chunk)
        {
            int count = (int)Math.Min(Chunk, dataBytes - at);
            var bytes = MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(data), (nint)at), count);
            if (swapped is null)
            {
                stream.Write(bytes);
                continue;
            }
            var target = swapped.AsSpan(0, count);
            switch (itemSize)
            {
                case 2:
                    BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, ushort>(bytes), MemoryMarshal.Cast<byte, ushort>(target));
                    break;
                case 4:
                    BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, uint>(bytes), MemoryMarshal.Cast<byte, uint>(target));
                    break;
                default:
                    BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, ulong>(bytes), MemoryMarshal.Cast<byte, ulong>(target));
                    break;
            }
            stream.Write(target);
        }
    }
}
