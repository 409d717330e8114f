namespace UNet.Segmentation;

/// <summary>
/// Options that cannot be used, with every problem listed at once, each beginning with the name
/// of its option (<c>BatchSize must be at least 1 (got 0)</c>, <c>Data.PrefetchBatches …</c> for
/// a nested record). Every options record of the library validates through it, the same way:
/// <see cref="ArgumentException.ParamName"/> is the first problem's option.
/// </summary>
public class OptionsValidationException : ArgumentException
{
    /// <summary>Creates the exception for <paramref name="what"/> ("trainer options", …) from its problems (at least one).</summary>
    public OptionsValidationException(string what, IReadOnlyList<string> problems)
        : base($"Invalid {what}: " + string.Join("; ", problems ?? throw new ArgumentNullException(nameof(problems))), OptionOf(problems)) => Problems = problems;

    /// <summary>Each problem, naming its option.</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>Throws when <paramref name="problems"/> is not empty.</summary>
    public static void ThrowIfAny(IReadOnlyList<string> problems, string what)
    {
        ArgumentNullException.ThrowIfNull(problems);
        if (problems.Count > 0) throw new OptionsValidationException(what, problems);
    }

    /// <summary>The option a problem names: its first word.</summary>
    private static string? OptionOf(IReadOnlyList<string> problems) => problems.Count == 0 ? null : problems[0].Split(' ', 2)[0];
}
