using System.Text.Json;
using UNet.Segmentation.Data;
using System.Runtime.InteropServices;
using UNet.Segmentation.Runtime;

namespace UNet.Segmentation.Cli;

/// <summary>Turns the errors a user can cause (bad flags, bad files) into one line on stderr and exit code 2, without a stack trace.</summary>
internal static class CliErrors
{
    public static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is ArgumentException or IsbiDataException or InvalidDataException or FormatException or JsonException
                                      or FileNotFoundException or DirectoryNotFoundException or ExternalException or TorchNativeLibraryException
                                      or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}
