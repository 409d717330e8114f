namespace UNet.Segmentation.Training.Callbacks;

/// <summary>
/// Stops the fit when <see cref="Metric"/> has not improved by more than <see cref="MinDelta"/>
/// for <see cref="Patience"/> evaluations in a row (Keras' <c>EarlyStopping</c>). It needs
/// evaluations during the fit: set <see cref="TrainerOptions.EvaluateEvery"/>. Its count starts
/// anew in each fit (a resumed run waits another <see cref="Patience"/> evaluations).
/// </summary>
public sealed class EarlyStopping : ITrainingCallback
{
    /// <summary>Watches <paramref name="metric"/> (default <see cref="MonitoredMetric.Dice"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Patience below 1, or a negative or non-finite min-delta.</exception>
    public EarlyStopping(int patience, double minDelta = 0, MonitoredMetric? metric = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(patience, 1);
        if (!(minDelta >= 0) || double.IsInfinity(minDelta)) throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, "min-delta must be a finite non-negative number");
        (Patience, MinDelta, Metric) = (patience, minDelta, metric ?? MonitoredMetric.Dice);
    }

    /// <summary>Evaluations without improvement before stopping.</summary>
    public int Patience { get; }

    /// <summary>The smallest change that counts as an improvement.</summary>
    public double MinDelta { get; }

    /// <summary>The watched metric.</summary>
    public MonitoredMetric Metric { get; }

    /// <summary>The best value seen in this fit (NaN before the first evaluation).</summary>
    public double Best { get; private set; } = double.NaN;

    /// <summary>The step of <see cref="Best"/>, or -1.</summary>
    public long BestStep { get; private set; } = -1;

    /// <summary>Evaluations since the last improvement.</summary>
    public int Waited { get; private set; }

    /// <summary>The step the fit was stopped at, or null.</summary>
    public long? StoppedAt { get; private set; }

    /// <inheritdoc />
    public void OnFitStart(TrainingContext context) => (Best, BestStep, Waited, StoppedAt) = (double.NaN, -1, 0, null);

    /// <inheritdoc />
    public void OnEvaluationEnd(TrainingContext context, EvaluationRecord evaluation)
    {
        double value = Metric.Read(evaluation.Metrics);
        if (Metric.Improves(value, Best, MinDelta) || BestStep < 0 && !double.IsNaN(value))
        {
            (Best, BestStep, Waited) = (value, evaluation.Step, 0);
            return;
        }
        if (++Waited < Patience || StoppedAt is not null) return;
        StoppedAt = evaluation.Step;
        context.RequestStop($"early stopping: {Metric.Name} has not improved on {Best:G6} (step {BestStep}) by more than {MinDelta:G3} for {Patience} evaluation(s)");
    }
}
