namespace UNet.Segmentation.Training;

/// <summary>A learning rate as a function of the step (0-based), in plain C#: the <see cref="Trainer"/> sets the optimizer's rate from it before each step.</summary>
public interface ILearningRateSchedule
{
    /// <summary>The learning rate for <paramref name="step"/>.</summary>
    double At(long step);
}

/// <summary>Built-in schedules.</summary>
public static class LearningRateSchedules
{
    /// <summary>Always <paramref name="rate"/> (the reference recipe).</summary>
    public static ILearningRateSchedule Constant(double rate)
    {
        Positive(rate, nameof(rate));
        return new Schedule(_ => rate);
    }

    /// <summary>rate · gamma^⌊step / stepSize⌋.</summary>
    public static ILearningRateSchedule StepDecay(double rate, long stepSize, double gamma)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stepSize, 1);
        if (!(gamma > 0)) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "gamma must be positive");
        Positive(rate, nameof(rate));
        return new Schedule(s => rate * Math.Pow(gamma, s / stepSize));
    }

    /// <summary>rate · decay^(step / decaySteps), continuous.</summary>
    public static ILearningRateSchedule Exponential(double rate, long decaySteps, double decay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(decaySteps, 1);
        if (!(decay > 0)) throw new ArgumentOutOfRangeException(nameof(decay), decay, "decay must be positive");
        Positive(rate, nameof(rate));
        return new Schedule(s => rate * Math.Pow(decay, (double)s / decaySteps));
    }

    /// <summary>Cosine from <paramref name="rate"/> to <paramref name="minimum"/> over <paramref name="totalSteps"/>, then <paramref name="minimum"/>.</summary>
    public static ILearningRateSchedule Cosine(double rate, long totalSteps, double minimum = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 1);
        if (!(minimum >= 0 && minimum <= rate)) throw new ArgumentOutOfRangeException(nameof(minimum), minimum, "minimum must lie in [0, rate]");
        Positive(rate, nameof(rate));
        return new Schedule(s => s >= totalSteps ? minimum : minimum + (rate - minimum) * 0.5 * (1 + Math.Cos(Math.PI * s / totalSteps)));
    }

    /// <summary>Linear ramp from rate/warmupSteps up to the inner schedule's value over the first <paramref name="warmupSteps"/> steps.</summary>
    public static ILearningRateSchedule WithLinearWarmup(this ILearningRateSchedule inner, long warmupSteps)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfLessThan(warmupSteps, 0);
        return new Schedule(s => s < warmupSteps ? inner.At(s) * (s + 1) / warmupSteps : inner.At(s));
    }

    private static double Positive(double rate, string name) =>
        rate > 0 && !double.IsInfinity(rate) ? rate : throw new ArgumentOutOfRangeException(name, rate, "learning rate must be a finite positive number");

    private sealed class Schedule(Func<long, double> at) : ILearningRateSchedule
    {
        public double At(long step) => step >= 0 ? at(step) : throw new ArgumentOutOfRangeException(nameof(step), step, "step must be non-negative");
    }
}
