using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace UNet.Segmentation.Cli;

/// <summary>A minimal ILogger writing timestamped lines to the console.</summary>
internal sealed class ConsoleLogger : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        string colour = logLevel >= LogLevel.Warning ? "yellow" : "grey";
        AnsiConsole.MarkupLine($"[{colour}]{DateTime.Now:HH:mm:ss}[/] {Markup.Escape(formatter(state, exception))}");
    }
}
