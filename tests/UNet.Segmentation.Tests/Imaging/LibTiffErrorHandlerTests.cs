using BitMiracle.LibTiff.Classic;
using UNet.Segmentation.Imaging;
using LibTiff = BitMiracle.LibTiff.Classic.Tiff;
using Tiff = UNet.Segmentation.Imaging.Tiff;

namespace UNet.Segmentation.Tests.Imaging;

/// <summary>
/// LibTiff.NET's error handler is one static field for the process. Ours throws only on the threads
/// inside our own calls; LibTiff.NET used directly elsewhere in the process keeps the handler it had.
/// </summary>
public class LibTiffErrorHandlerTests
{
    private sealed class Recording : TiffErrorHandler
    {
        public List<string> Errors { get; } = [];
        public List<string> Warnings { get; } = [];

        public override void ErrorHandler(LibTiff tif, string method, string format, params object[] args) => Errors.Add(string.Format(format, args));

        public override void ErrorHandlerExt(LibTiff tif, object clientData, string method, string format, params object[] args)
        {
        }

        public override void WarningHandler(LibTiff tif, string method, string format, params object[] args) => Warnings.Add(string.Format(format, args));

        public override void WarningHandlerExt(LibTiff tif, object clientData, string method, string format, params object[] args)
        {
        }
    }

    private static readonly byte[] NotATiff = "II*\0\x08\0\0\0 this directory is garbage"u8.ToArray();

    [Fact]
    public void OtherUsersOfLibTiff_KeepTheirHandler_AndOurReadsStillThrow()
    {
        var theirs = new Recording();
        var before = LibTiff.SetErrorHandler(theirs); // another component of the process installs its handler
        try
        {
            // our read, after theirs was installed: a typed exception, nothing reaches their handler
            var e = Assert.Throws<TiffFormatException>(() => Tiff.Read(new MemoryStream(NotATiff), "ours.tif"));
            Assert.Equal(1, e.Page);
            Assert.Empty(theirs.Errors);

            // their own LibTiff.NET call, on a thread outside ours: LibTiff.NET's usual behaviour, to their handler
            var stream = new MemoryStream(NotATiff);
            LibTiff? opened = null;
            var thread = new Thread(() => opened = LibTiff.ClientOpen("theirs.tif", "r", stream, new TiffStream()));
            thread.Start();
            thread.Join();
            Assert.Null(opened);
            Assert.NotEmpty(theirs.Errors);

            // and on this very thread, once our call has returned
            int seen = theirs.Errors.Count;
            Assert.Null(LibTiff.ClientOpen("theirs-again.tif", "r", new MemoryStream(NotATiff), new TiffStream()));
            Assert.True(theirs.Errors.Count > seen);
        }
        finally
        {
            LibTiff.SetErrorHandler(before);
        }
    }

    [Fact]
    public void ConcurrentReads_EachGetTheirOwnFileInTheirError()
    {
        var good = TestVolumes.ToBytes(TestVolumes.Make(TiffSampleFormat.UInt16, 2, 30, 40), TiffCompression.Lzw);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            string name = $"file-{i}.tif";
            try
            {
                if (i % 2 == 0) Tiff.Read(new MemoryStream(good), name);
                else Tiff.Read(new MemoryStream(NotATiff), name);
                if (i % 2 == 1) failures.Enqueue($"{name} read without error");
            }
            catch (TiffFormatException e)
            {
                if (i % 2 == 0 || e.FilePath != name) failures.Enqueue($"{name}: {e.Message}");
            }
        });
        Assert.True(failures.IsEmpty, string.Join("\n", failures.Take(5)));
    }
}
