using UNet.Segmentation.Inference;
using UNet.Segmentation.Model;
using UNet.Segmentation.Serialization;
using UNet.Segmentation.Tests.Shared;
using static TorchSharp.torch;
using static UNet.Segmentation.Tests.Inference.InferenceTestSupport;

namespace UNet.Segmentation.Tests.Model;

/// <summary>Checkpoints read from a stream or from bytes: the same model as from the file, and the file's typed errors naming the argument.</summary>
[Collection("LiveTensors")]
public sealed class LoadFromMemoryTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"memory-{Guid.NewGuid():N}.safetensors");

    public void Dispose() => File.Delete(_path);

    private byte[] Checkpoint()
    {
        using var model = NewModel();
        model.Save(_path);
        return File.ReadAllBytes(_path);
    }

    private static void AssertSameWeights(UNetModel expected, UNetModel actual)
    {
        Assert.Equal(expected.Options, actual.Options);
        var a = expected.state_dict();
        var b = actual.state_dict();
        Assert.Equal(a.Keys, b.Keys);
        using var scope = NewDisposeScope();
        foreach (var key in a.Keys) Assert.True(a[key].eq(b[key]).all().item<bool>(), key);
    }

    [Fact]
    public void StreamBytesAndFile_GiveTheSameModel()
    {
        var bytes = Checkpoint();
        using var fromFile = UNetModel.Load(_path);
        using (var stream = new MemoryStream(bytes))
        using (var fromStream = UNetModel.Load(stream))
            AssertSameWeights(fromFile, fromStream);
        using (var fromBytes = UNetModel.Load(bytes))
            AssertSameWeights(fromFile, fromBytes);
        // A stream that cannot seek, positioned after a prefix: read from there to the end.
        var prefixed = new byte[] { 1, 2, 3 }.Concat(bytes).ToArray();
        using var pipe = new NonSeekable(new MemoryStream(prefixed));
        pipe.ReadExactly(new byte[3]);
        using var fromPipe = UNetModel.Load(pipe);
        AssertSameWeights(fromFile, fromPipe);
    }

    /// <summary>The live tensors a call leaves behind, after one warm-up call.</summary>
    private static long LeftBehind(Action call)
    {
        call();
        long before = LiveTensors.SettledCount();
        call();
        return LiveTensors.SettledCount() - before;
    }

    [Fact]
    public void FromCheckpointBytes_PredictsAsFromTheFile_AndLeavesNoMoreTensorsThanTheFile()
    {
        var bytes = Checkpoint();
        var slice = new byte[30 * 41];
        new Random(1).NextBytes(slice);
        float[] expected = [], fromStream = [], fromBytes = [];
        // A disposed UNetModel leaves some handles to the finalizer today, whatever loaded it: the
        // memory paths must add nothing to what the file path leaves.
        long file = LeftBehind(() => { using var p = Predictor.FromCheckpoint(_path); expected = p.PredictSlice(slice, 30, 41); });
        long stream = LeftBehind(() => { using var s = new MemoryStream(bytes); using var p = Predictor.FromCheckpoint(s); fromStream = p.PredictSlice(slice, 30, 41); });
        long memory = LeftBehind(() =>
        {
            using var p = Predictor.FromCheckpoint(bytes.AsMemory());
            Assert.False(p.Model.training); // its own model stays in evaluation mode: concurrent calls need no lock
            fromBytes = p.PredictSlice(slice, 30, 41);
        });
        Assert.Equal(expected, fromStream);
        Assert.Equal(expected, fromBytes);
        Assert.Equal(file, stream);
        Assert.Equal(file, memory);
    }

    [Fact]
    public void BadBytes_GiveTheFilesTypedErrors_NamingTheArgument()
    {
        var bytes = Checkpoint();
        LiveTensors.Settle();
        long before = LiveTensors.SettledCount();
        var empty = Assert.Throws<SafetensorsFormatException>(() => UNetModel.Load(new MemoryStream()));
        Assert.Equal("the checkpoint stream", empty.FilePath);
        Assert.Contains("the checkpoint stream", empty.Message);
        var truncated = Assert.Throws<SafetensorsFormatException>(() => UNetModel.Load(bytes.AsMemory(0, bytes.Length - 10)));
        Assert.Equal("the checkpoint bytes", truncated.FilePath);
        Assert.Throws<SafetensorsFormatException>(() => Predictor.FromCheckpoint("hello, world\n"u8.ToArray().AsMemory()));
        // Valid safetensors without U-Net options.
        string plain = _path + ".plain";
        try
        {
            using (var scope = NewDisposeScope()) Safetensors.Save(plain, [KeyValuePair.Create("x", zeros(2))]);
            using var stream = File.OpenRead(plain);
            var noOptions = Assert.Throws<InvalidDataException>(() => Predictor.FromCheckpoint(stream));
            Assert.StartsWith("the checkpoint stream holds no", noOptions.Message);
        }
        finally
        {
            File.Delete(plain);
        }
        Assert.Throws<ArgumentNullException>(() => UNetModel.Load((Stream)null!));
        Assert.Equal(before, LiveTensors.SettledCount());
    }

    private sealed class NonSeekable(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
