using Google.Protobuf;

namespace UNet.Segmentation.Tests.Shared;

/// <summary>
/// A small reader of TensorBoard event files, shared by the test projects so they need no TensorBoard: TFRecord
/// framing (uint64 length, masked CRC-32C of the length, data, masked CRC-32C of the data, every
/// CRC checked) around Event protobufs read by field number (tensorflow/core/util/event.proto,
/// tensorflow/core/framework/summary.proto): Event{wall_time=1 double, step=2 int64,
/// file_version=3 string, summary=5}, Summary{value=1 repeated}, Summary.Value{tag=1,
/// simple_value=2 float, image=4}, Summary.Image{height=1, width=2, colorspace=3,
/// encoded_image_string=4}.
/// </summary>
public static class TensorBoardEvents
{
    public sealed record Image(int Height, int Width, int Colorspace, byte[] Encoded);

    public sealed record Value(string Tag, float? Simple, Image? Image);

    public sealed record Event(double WallTime, long Step, string? FileVersion, IReadOnlyList<Value> Values);

    /// <summary>Every event of every event file under <paramref name="directory"/>, in file then record order.</summary>
    public static List<Event> ReadDirectory(string directory) =>
        Directory.GetFiles(directory, "events.out.tfevents.*", SearchOption.AllDirectories).Order().SelectMany(ReadFile).ToList();

    public static List<Event> ReadFile(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var events = new List<Event>();
        int at = 0;
        while (at < bytes.Length)
        {
            if (bytes.Length - at < 12) throw new InvalidDataException($"{path}: truncated record header at {at}");
            ulong length = BitConverter.ToUInt64(bytes, at);
            uint lengthCrc = BitConverter.ToUInt32(bytes, at + 8);
            if (lengthCrc != Masked(bytes.AsSpan(at, 8))) throw new InvalidDataException($"{path}: bad length CRC at {at}");
            at += 12;
            if ((ulong)(bytes.Length - at) < length + 4) throw new InvalidDataException($"{path}: truncated record at {at}");
            var data = bytes.AsSpan(at, (int)length);
            uint dataCrc = BitConverter.ToUInt32(bytes, at + (int)length);
            if (dataCrc != Masked(data)) throw new InvalidDataException($"{path}: bad data CRC at {at}");
            events.Add(ParseEvent(data.ToArray()));
            at += (int)length + 4;
        }
        return events;
    }

    private static Event ParseEvent(byte[] data)
    {
        var input = new CodedInputStream(data);
        double wall = 0;
        long step = 0;
        string? version = null;
        var values = new List<Value>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: wall = input.ReadDouble(); break;
                case 2: step = input.ReadInt64(); break;
                case 3: version = input.ReadString(); break;
                case 5: values.AddRange(ParseSummary(input.ReadBytes().ToByteArray())); break;
                default: input.SkipLastField(); break;
            }
        }
        return new Event(wall, step, version, values);
    }

    private static List<Value> ParseSummary(byte[] data)
    {
        var input = new CodedInputStream(data);
        var values = new List<Value>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == 1) values.Add(ParseValue(input.ReadBytes().ToByteArray()));
            else input.SkipLastField();
        }
        return values;
    }

    private static Value ParseValue(byte[] data)
    {
        var input = new CodedInputStream(data);
        string name = "";
        float? simple = null;
        Image? image = null;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: name = input.ReadString(); break;
                case 2: simple = input.ReadFloat(); break;
                case 4: image = ParseImage(input.ReadBytes().ToByteArray()); break;
                default: input.SkipLastField(); break;
            }
        }
        return new Value(name, simple, image);
    }

    private static Image ParseImage(byte[] data)
    {
        var input = new CodedInputStream(data);
        int height = 0, width = 0, colorspace = 0;
        byte[] encoded = [];
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: height = input.ReadInt32(); break;
                case 2: width = input.ReadInt32(); break;
                case 3: colorspace = input.ReadInt32(); break;
                case 4: encoded = input.ReadBytes().ToByteArray(); break;
                default: input.SkipLastField(); break;
            }
        }
        return new Image(height, width, colorspace, encoded);
    }

    private static readonly uint[] Table = MakeTable();

    private static uint[] MakeTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        return table;
    }

    /// <summary>CRC-32C (Castagnoli), masked as TFRecord does.</summary>
    public static uint Masked(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        crc ^= 0xFFFFFFFFu;
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    }
}
