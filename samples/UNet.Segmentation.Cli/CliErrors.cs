using System.Runtime.InteropServices;
using System.Text.Json;
using UNet.Segmentation.Data;
using UNet.Segmentation.Distributed;
using UNet.Segmentation.Runtime;

namespace UNet.Segmentation.Cli;

/// <summary>
/// Turns the errors a user can cause (bad flags, bad files, a tensor shape libtorch refuses, a
/// missing or unloadable native backend or MPI) into one line on stderr and exit code 2 (3 for a
/// failed collective of a data-parallel job), without a stack
/// trace. libtorch's errors reach .NET as <see cref="ExternalException"/> whose message carries
/// the C++ backtrace after its first line; only that first line is shown.
/// </summary>
internal static class CliErrors
{
    public static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is ArgumentException or DataFileException or InvalidDataException or FormatException or JsonException
                                      or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException
                                      or Onnx.OnnxModelException or NotSupportedException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is ExternalException or TorchNativeLibraryException or Onnx.OnnxRuntimeNativeLibraryException or CommunicationLibraryException)
        {
            Console.Error.WriteLine($"error: {FirstLine(e.Message)}");
            return 2;
        }
        catch (DistributedException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 3;
        }
    }

    /// <summary>The first non-blank line of a message (libtorch's "Exception raised from ..." and frames follow it).</summary>
    internal static string FirstLine(string message) =>
        message.Split('\n').Select(l => l.TrimEnd('\r').Trim()).FirstOrDefault(l => l.Length > 0) ?? message.Trim();
}
