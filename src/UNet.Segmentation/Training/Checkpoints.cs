using System.Globalization;
using UNet.Segmentation.Model;
using UNet.Segmentation.Torch;
using UNet.Segmentation.Torch.Optim;
using UNet.Segmentation.Torch.Serialization;

namespace UNet.Segmentation.Training;

/// <summary>Where a training run stood when a checkpoint was written.</summary>
/// <param name="Step">Optimizer steps taken.</param>
/// <param name="NextBatch">Index of the next training batch (the data order's state).</param>
/// <param name="Scaler">The loss scaler's state.</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="WorldSize">The number of data-parallel ranks that took those steps (1: one process).</param>
public sealed record CheckpointState(long Step, long NextBatch, LossScalerState Scaler, int Seed, int WorldSize = 1);

/// <summary>
/// Training checkpoints: one safetensors file per save, <c>step-00000500.safetensors</c>, holding
/// the model's weights under their own keys (so <see cref="UNetModel.Load"/> and PyTorch read
/// them), the optimizer state under <c>optimizer.</c>, the CPU generator under <c>rng.cpu</c>,
/// and the options and run state in the metadata. Files are written atomically (temp file,
/// flush, rename): a kill at any moment leaves the previous checkpoint intact.
/// </summary>
public static class Checkpoints
{
    private const string Prefix = "step-", Extension = ".safetensors";

    /// <summary>The file name of the checkpoint of <paramref name="step"/>.</summary>
    public static string PathFor(string directory, long step) =>
        Path.Combine(directory, $"{Prefix}{step.ToString("D8", CultureInfo.InvariantCulture)}{Extension}");

    /// <summary>The checkpoints in a folder, oldest first.</summary>
    public static IReadOnlyList<string> List(string directory)
    {
        if (!Directory.Exists(directory)) return [];
        return Directory.EnumerateFiles(directory, Prefix + "*" + Extension)
            .Where(f => long.TryParse(Path.GetFileNameWithoutExtension(f).AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>The newest checkpoint in a folder, or null.</summary>
    public static string? Latest(string directory) => List(directory).LastOrDefault();

    /// <summary>Writes a checkpoint atomically and returns its path.</summary>
    public static string Save(string directory, UNetModel model, Optimizer optimizer, CheckpointState state)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(state);
        Directory.CreateDirectory(directory);
        string path = PathFor(directory, state.Step);
        using var scope = TensorScope.Begin();
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var (name, t) in model.StateDict()) tensors.Add(KeyValuePair.Create(name, t.Contiguous()));
        foreach (var (name, t) in optimizer.StateDict()) tensors.Add(KeyValuePair.Create("optimizer." + name, t.Contiguous()));
        tensors.Add(KeyValuePair.Create("rng.cpu", LibTorch.GetRngState()));
        var metadata = new Dictionary<string, string>
        {
            [UNetModel.OptionsMetadataKey] = model.Options.ToJson(),
            ["step"] = state.Step.ToString(CultureInfo.InvariantCulture),
            ["next_batch"] = state.NextBatch.ToString(CultureInfo.InvariantCulture),
            ["loss_scale"] = state.Scaler.Scale.ToString("R", CultureInfo.InvariantCulture),
            ["scaler_good_steps"] = state.Scaler.GoodSteps.ToString(CultureInfo.InvariantCulture),
            ["scaler_skipped_steps"] = state.Scaler.SkippedSteps.ToString(CultureInfo.InvariantCulture),
            ["seed"] = state.Seed.ToString(CultureInfo.InvariantCulture),
            ["world_size"] = state.WorldSize.ToString(CultureInfo.InvariantCulture),
        };
        Safetensors.Save(path, tensors, metadata);
        return path;
    }

    /// <summary>
    /// Restores weights, optimizer and generator state from a checkpoint into a model built with
    /// the same options. A checkpoint of another architecture, or a damaged one, is an
    /// <see cref="InvalidDataException"/> naming the file, raised before anything is changed.
    /// </summary>
    public static CheckpointState Restore(string path, UNetModel model, Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        using var file = Safetensors.Load(path);
        string Meta(string key) => file.Metadata.TryGetValue(key, out var v) ? v
            : throw new InvalidDataException($"{path} is not a training checkpoint: its metadata has no '{key}'");
        UNetOptions options;
        try
        {
            options = UNetOptions.FromJson(Meta(UNetModel.OptionsMetadataKey));
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"{path}: the '{UNetModel.OptionsMetadataKey}' metadata is not valid U-Net options ({e.Message})", e);
        }
        if (options != model.Options)
            throw new InvalidDataException($"{path} was written for another architecture ({Describe(options)}) than this model ({Describe(model.Options)})");
        var state = new CheckpointState(
            long.Parse(Meta("step"), CultureInfo.InvariantCulture), long.Parse(Meta("next_batch"), CultureInfo.InvariantCulture),
            new LossScalerState(double.Parse(Meta("loss_scale"), CultureInfo.InvariantCulture), int.Parse(Meta("scaler_good_steps"), CultureInfo.InvariantCulture),
                long.Parse(Meta("scaler_skipped_steps"), CultureInfo.InvariantCulture)),
            int.Parse(Meta("seed"), CultureInfo.InvariantCulture),
            file.Metadata.TryGetValue("world_size", out var w) ? int.Parse(w, CultureInfo.InvariantCulture) : 1);
        if (state.WorldSize < 1) throw new InvalidDataException($"{path}: world_size {state.WorldSize} is not a positive number");
        var weights = file.Tensors.Where(kv => !UNetModel.NonWeightPrefixes.Any(p => kv.Key.StartsWith(p, StringComparison.Ordinal))).ToDictionary();
        var optimizerState = file.Tensors.Where(kv => kv.Key.StartsWith("optimizer.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key["optimizer.".Length..], kv => kv.Value);
        if (!file.Tensors.TryGetValue("rng.cpu", out var rng)) throw new InvalidDataException($"{path} holds no generator state (rng.cpu)");
        try
        {
            model.LoadStateDict(weights);
            optimizer.LoadStateDict(optimizerState);
        }
        catch (UNet.Segmentation.Torch.NN.StateDictMismatchException e)
        {
            throw new InvalidDataException($"{path} does not fit this model and optimizer: {e.Message}", e);
        }
        LibTorch.SetRngState(rng);
        return state;
    }

    /// <summary>Deletes all but the newest <paramref name="keepLast"/> checkpoints.</summary>
    public static void Prune(string directory, int keepLast)
    {
        var all = List(directory);
        foreach (var old in all.Take(Math.Max(0, all.Count - keepLast))) File.Delete(old);
    }

    private static string Describe(UNetOptions o) =>
        $"{o.BaseFilters} filters, depth {o.Depth}, {o.Padding} padding, {o.Upsampling}, batch norm {(o.BatchNorm ? "on" : "off")}, {o.InputChannels} in, {o.Classes} classes";
}
