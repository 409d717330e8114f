using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace UNet.Segmentation.Cli;

/// <summary>A minimal ILogger writing timestamped lines to the console.</summary>
internal sealed class ConsoleLogger : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    /// <summary>Piped, NO_COLOR or a rank under mpirun: whole plain lines, no colour, no live progress.</summary>
    internal static bool Plain => Console.IsOutputRedirected || Environment.GetEnvironmentVariable("NO_COLOR") is { Length: > 0 } || Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        if (Plain)
        {
            // Piped or launched by mpirun: whole lines, no colour codes, no wrapping at 80 columns.
            Console.Out.WriteLine($"{DateTime.Now:HH:mm:ss} {formatter(state, exception)}");
            return;
        }
        string colour = logLevel >= LogLevel.Warning ? "yellow" : "grey";
        AnsiConsole.MarkupLine($"[{colour}]{DateTime.Now:HH:mm:ss}[/] {Markup.Escape(formatter(state, exception))}");
    }
}
