using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using UNet.Segmentation.Training.Callbacks;

namespace UNet.Segmentation.Cli;

/// <summary>
/// The live progress line of a fit on a terminal: step N/M, loss and Dice of the last logged
/// step, img/s and the time left, over a bar. The fit runs inside <see cref="Show{T}"/>; the
/// log lines (<see cref="ConsoleLogger"/>, written through AnsiConsole) appear above the bar.
/// Only for <see cref="ConsoleLogger.Plain"/> false: piped output keeps the plain log lines.
/// </summary>
internal sealed class ProgressView : ITrainingCallback
{
    private ProgressTask? _task;
    private readonly Stopwatch _clock = new();
    private long _startStep;
    private double? _loss, _dice;

    /// <summary>Runs <paramref name="fit"/> under the live display and returns what it returns.</summary>
    public T Show<T>(long maxSteps, Func<T> fit) =>
        AnsiConsole.Progress()
            .AutoClear(false)
            .AutoRefresh(true)
            .Columns(new ProgressBarColumn { Width = 30 }, new PercentageColumn(), new TaskDescriptionColumn { Alignment = Justify.Left })
            .Start(ctx =>
            {
                _task = ctx.AddTask(Describe(0, maxSteps, null), maxValue: Math.Max(1, maxSteps));
                return fit();
            });

    public void OnFitStart(TrainingContext context)
    {
        (_startStep, _loss, _dice) = (context.StartStep, null, null);
        _clock.Restart();
        if (_task is null) return;
        _task.Value = context.StartStep;
        _task.Description = Describe(context.StartStep, context.MaxSteps, null);
    }

    public void OnStepEnd(TrainingContext context, TrainingStep step)
    {
        if (step.Logged is { } r) (_loss, _dice) = (r.Loss, r.Dice);
        if (_task is null) return;
        _task.Value = step.Step;
        _task.Description = Describe(step.Step, step.MaxSteps, step.ImagesPerSecond);
    }

    public void OnFitEnd(TrainingContext context, FitSummary summary)
    {
        if (_task is null) return;
        _task.Description = Describe(summary.Steps, context.MaxSteps, null) + (summary.Cancelled ? " · cancelled" : summary.StopReason is not null ? " · stopped early" : "");
        if (summary.Completed) _task.Value = _task.MaxValue;
        _task.StopTask();
    }

    private string Describe(long step, long maxSteps, double? imagesPerSecond)
    {
        var inv = CultureInfo.InvariantCulture;
        var parts = new List<string> { string.Create(inv, $"step {step}/{maxSteps}") };
        if (_loss is { } loss) parts.Add(string.Create(inv, $"loss {loss:F4}"));
        if (_dice is { } dice) parts.Add(string.Create(inv, $"dice {dice:F4}"));
        if (imagesPerSecond is { } ips) parts.Add(string.Create(inv, $"{ips:F1} img/s"));
        long done = step - _startStep;
        if (done > 0 && step < maxSteps)
        {
            var left = TimeSpan.FromSeconds(_clock.Elapsed.TotalSeconds / done * (maxSteps - step));
            parts.Add($"ETA {(int)left.TotalHours}:{left.Minutes:00}:{left.Seconds:00}");
        }
        return Markup.Escape(string.Join(" · ", parts));
    }
}
