namespace UNet.Segmentation.Web.Hosting;

/// <summary>The service cannot start: the message is the one line it prints before exiting with 1.</summary>
public sealed class StartupException(string message, Exception? inner = null) : Exception(OneLine(message), inner)
{
    private static string OneLine(string message) => string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
