using UNet.Segmentation.Model;
using UNet.Segmentation.Runtime;
using UNet.Segmentation.Training;
using static UNet.Segmentation.Tests.Training.Loop.LoopFixture;

namespace UNet.Segmentation.Tests.Training;

/// <summary>The named recipes: their values reach the trainer and the model, later calls override them, the warm-up and cosine are the rates used, names are checked.</summary>
[Collection("LiveTensors")]
public sealed class TrainingRecipesTests
{
    public static TheoryData<string> Names() => [.. TrainingRecipes.All.Select(r => r.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public void EachRecipesValues_ReachTheTrainersOptionsAndTheModel(string name)
    {
        var recipe = TrainingRecipes.Find(name);
        Assert.Empty(recipe.Validate());
        using var model = new UNetModel(Tiny);
        using var trainer = Trainer.For(model).WithSchedule(LearningRateSchedules.Constant(0.5)).WithRecipe(recipe).Build();
        var o = trainer.Options;
        Assert.Equal((recipe.LearningRate, recipe.LearningRateWarmupSteps, recipe.LearningRateDecay), (o.LearningRate, o.LearningRateWarmupSteps, o.LearningRateDecay));
        Assert.Null(o.Schedule); // the recipe's rate replaces a schedule set before it
        // Precision: the recipe's, except bfloat16 on a CPU without bfloat16 instructions (CpuBFloat16Tests).
        Assert.Equal((recipe.MaxSteps, recipe.BatchSize, CpuBFloat16.ForDevice(recipe.Precision, o.Device)), (o.MaxSteps, o.BatchSize, o.Precision));
        Assert.Equal((recipe.Augment, recipe.PrefetchBatches, recipe.LogEvery), (o.Data.Augment, o.Data.PrefetchBatches, o.LogEvery));
        // Adam's other settings are not the recipe's: they stay the trainer's defaults.
        Assert.Equal((0.9, 0.999, 1e-7), (o.Beta1, o.Beta2, o.Epsilon));

        var options = recipe.ApplyTo(UNetOptions.Reference with { Depth = 3 });
        Assert.Equal(recipe.BaseFilters, options.BaseFilters);
        Assert.Equal(UNetOptions.Reference with { Depth = 3, BaseFilters = recipe.BaseFilters, ChannelsLast = recipe.ChannelsLast }, options);
    }

    [Fact]
    public void TheReferenceRecipe_IsTheTrainersReferenceDefaults_WithMainPysAugmentationOff()
    {
        var defaults = new TrainerOptions();
        var r = TrainingRecipes.Reference;
        Assert.Equal((defaults.LearningRate, defaults.MaxSteps, defaults.BatchSize, defaults.Precision, defaults.LearningRateDecay, defaults.LearningRateWarmupSteps),
            (r.LearningRate, r.MaxSteps, r.BatchSize, r.Precision, r.LearningRateDecay, r.LearningRateWarmupSteps));
        Assert.Equal(UNetOptions.Reference.BaseFilters, r.BaseFilters);
        Assert.False(r.Augment);
        // cpu-fast: bfloat16 (CPU mixed precision), a warm-up, then the constant rate that beat the cosine on the folds.
        Assert.Equal((Precision.BFloat16, LearningRateDecay.Constant, 4000L), (TrainingRecipes.CpuFast.Precision, TrainingRecipes.CpuFast.LearningRateDecay, TrainingRecipes.CpuFast.MaxSteps));
        Assert.True(TrainingRecipes.CpuFast.LearningRateWarmupSteps > 0);
        // cpu-fast keeps the U-Net channels-last (bfloat16 pooling and convolutions are faster so on the CPU); the reference does not.
        Assert.True(TrainingRecipes.CpuFast.ChannelsLast);
        Assert.False(r.ChannelsLast);
        Assert.True(TrainingRecipes.CpuFast.ApplyTo(UNetOptions.Reference).ChannelsLast);
    }

    [Fact]
    public void LaterCalls_OverrideTheRecipesValues_AndLeaveTheOthers()
    {
        using var model = new UNetModel(Tiny);
        using var trainer = Trainer.For(model).WithRecipe(TrainingRecipes.CpuFast)
            .WithSteps(10, 1).WithAdam(5e-4).WithMixedPrecision(Precision.Float32).WithAugmentation(false).Build();
        var o = trainer.Options;
        Assert.Equal((10L, 1, 5e-4, Precision.Float32, false), (o.MaxSteps, o.BatchSize, o.LearningRate, o.Precision, o.Data.Augment));
        Assert.Equal((100L, LearningRateDecay.Constant), (o.LearningRateWarmupSteps, o.LearningRateDecay));
        // A schedule of one's own set afterwards replaces the warm-up and the recipe's decay.
        var own = LearningRateSchedules.Constant(0.25);
        Assert.Same(own, (o with { Schedule = own }).ScheduleFor(10));
    }

    [Fact]
    public void AFit_UsesTheWarmupAndCosineRates_OverItsSteps()
    {
        using var model = new UNetModel(Tiny);
        var recipe = TrainingRecipes.CpuFast with { MaxSteps = 6, LearningRateWarmupSteps = 2, LearningRateDecay = LearningRateDecay.Cosine, BatchSize = 2, Precision = Precision.Float32, Augment = false, LogEvery = 1 };
        using var trainer = Trainer.For(model).WithRecipe(recipe).Build();
        var rates = trainer.Fit(EmData, Fold with { Validation = [] }, cancellation: TestContext.Current.CancellationToken).History.Select(r => r.LearningRate).ToArray();
        double Cosine(int s) => 1e-3 * 0.5 * (1 + Math.Cos(Math.PI * s / 6));
        double[] expected = [Cosine(0) * 1 / 2, Cosine(1) * 2 / 2, Cosine(2), Cosine(3), Cosine(4), Cosine(5)];
        Assert.Equal(expected.Length, rates.Length);
        for (int i = 0; i < rates.Length; i++) Assert.Equal(expected[i], rates[i], 15);
        Assert.Equal(5e-4, rates[0], 15);   // half the peak after one of two warm-up steps
        Assert.True(rates[^1] < 1e-4);      // near 0 at the end
    }

    [Fact]
    public void TheCosine_SpansTheStepsEachRankTakes()
    {
        // Data-parallel: a rank takes MaxSteps / WorldSize steps, and the cosine ends with them.
        var options = new TrainerOptions { LearningRate = 1, MaxSteps = 100, LearningRateDecay = LearningRateDecay.Cosine };
        Assert.Equal(0.5, options.ScheduleFor(50)!.At(25), 12);
        Assert.Equal(1.0, options.ScheduleFor(50)!.At(0), 12);
        Assert.Null(new TrainerOptions().ScheduleFor(100)); // constant, no warm-up: the optimizer keeps its own rate
        Assert.Equal(0.5, (new TrainerOptions { LearningRate = 1, LearningRateWarmupSteps = 4 }).ScheduleFor(100)!.At(1), 12);
    }

    [Theory]
    [InlineData("cpu-fast")]
    [InlineData("CPU-Fast")]
    [InlineData(" reference ")]
    public void Find_IgnoresCaseAndSpaces(string name) =>
        Assert.Contains(TrainingRecipes.Find(name), TrainingRecipes.All);

    [Fact]
    public void AnUnknownName_IsOneLineListingTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => TrainingRecipes.Find("cpu-fastest"));
        Assert.Equal("name", e.ParamName);
        Assert.StartsWith("unknown recipe 'cpu-fastest': the recipes are reference, cpu-fast, cpu-synthetic", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void ABadRecipe_IsRefusedListingEveryProblem()
    {
        var bad = TrainingRecipes.CpuFast with { Name = "bad", BatchSize = 0, LearningRate = double.NaN, LearningRateWarmupSteps = -1 };
        using var model = new UNetModel(Tiny);
        var e = Assert.Throws<OptionsValidationException>(() => Trainer.For(model).WithRecipe(bad));
        Assert.Equal(3, e.Problems.Count);
        Assert.Contains("recipe 'bad'", e.Message);
        Assert.Equal("BatchSize", e.ParamName);
        var options = Assert.Throws<OptionsValidationException>(() => Trainer.For(model).WithLearningRateDecay(LearningRateDecay.Cosine, -3).Build());
        Assert.Contains("LearningRateWarmupSteps must be non-negative (got -3)", options.Message);
    }
}
