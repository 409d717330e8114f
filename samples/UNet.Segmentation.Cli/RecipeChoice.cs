using System.Globalization;
using UNet.Segmentation.Training;

namespace UNet.Segmentation.Cli;

/// <summary>
/// Which recipe a run starts from: --recipe NAME (the library's <see cref="TrainingRecipes"/>), or
/// without it cpu-synthetic on the synthetic data and reference with --data-dir. Each flag given
/// then overrides its value (RunCommand).
/// </summary>
internal static class RecipeChoice
{
    public static TrainingRecipe Default(DirectoryInfo? dataDir) => dataDir is null ? TrainingRecipes.CpuSynthetic : TrainingRecipes.Reference;

    /// <summary>--recipe's value; an unknown name is one line listing the known ones.</summary>
    public static TrainingRecipe Find(string name)
    {
        try { return TrainingRecipes.Find(name); }
        catch (ArgumentException e) { throw new ArgumentException($"--recipe: {e.Message.Split(" (Parameter")[0]}"); }
    }

    /// <summary>--lr-schedule's value: constant or cosine, in any case.</summary>
    public static LearningRateDecay ParseDecay(string name) =>
        !int.TryParse(name, out _) && Enum.TryParse<LearningRateDecay>(name.Trim(), ignoreCase: true, out var decay) && Enum.IsDefined(decay) ? decay
            : throw new ArgumentException($"--lr-schedule must be {string.Join(" or ", Enum.GetNames<LearningRateDecay>().Select(n => n.ToLowerInvariant()))} (got '{name}')");

    /// <summary>The summary row of the learning rate a trainer uses: "0.001, cosine, 100 warm-up steps".</summary>
    public static string DescribeRate(TrainerOptions t) => string.Create(CultureInfo.InvariantCulture,
        $"{t.LearningRate:G3}, {t.LearningRateDecay.ToString().ToLowerInvariant()}{(t.LearningRateWarmupSteps > 0 ? $", {t.LearningRateWarmupSteps} warm-up steps" : "")}");
}
