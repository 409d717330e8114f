namespace UNet.Segmentation;

/// <summary>
/// Options that cannot be used, with every problem listed at once, each beginning with the name
/// of its option (<c>BatchSize must be at least 1 (got 0)</c>). Every options record of the
/// library validates through it; <see cref="ArgumentException.ParamName"/> is the argument that
/// carried the options.
/// </summary>
public class OptionsValidationException : ArgumentException
{
    /// <summary>Creates the exception for <paramref name="what"/> ("trainer options", …) from its problems.</summary>
    public OptionsValidationException(string what, IReadOnlyList<string> problems, string? paramName)
        : base($"Invalid {what}: " + string.Join("; ", problems), paramName) => Problems = problems;

    /// <summary>Each problem, naming its option.</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>Throws when <paramref name="problems"/> is not empty.</summary>
    public static void ThrowIfAny(IReadOnlyList<string> problems, string what, string? paramName)
    {
        ArgumentNullException.ThrowIfNull(problems);
        if (problems.Count > 0) throw new OptionsValidationException(what, problems, paramName);
    }
}
