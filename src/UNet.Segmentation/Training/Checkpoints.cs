using System.Globalization;
using TorchSharp;
using UNet.Segmentation.Model;
using UNet.Segmentation.Serialization;
using static TorchSharp.torch;
using Adam = TorchSharp.Modules.Adam;
using OptimizerHelper = TorchSharp.Modules.OptimizerHelper;

namespace UNet.Segmentation.Training;

/// <summary>Where a training run stood when a checkpoint was written.</summary>
/// <param name="Step">Optimizer steps taken.</param>
/// <param name="NextBatch">Index of the next training batch (the data order's state).</param>
/// <param name="Scaler">The loss scaler's state.</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="WorldSize">The number of data-parallel ranks that took the steps (each step saw WorldSize batches).</param>
public sealed record CheckpointState(long Step, long NextBatch, LossScalerState Scaler, int Seed, int WorldSize = 1)
{
    /// <summary>After <see cref="Checkpoints.Restore(string, UNet.Segmentation.Model.UNetModel, TorchSharp.Modules.OptimizerHelper)"/>: true when the optimizer's state was in the checkpoint and was loaded.</summary>
    public bool OptimizerRestored { get; init; } = true;

    /// <summary>
    /// The fold the run trained on, as <see cref="Data.FoldSplit.Name"/> writes it (metadata
    /// <c>fold</c>): its index, or "none" for a fit on all items (<see cref="Data.FoldSplit.All"/>);
    /// null when not recorded (a checkpoint written before the key existed, or saved without it).
    /// </summary>
    public string? Fold { get; init; }

    /// <summary>
    /// The same number of samples seen in steps of <paramref name="worldSize"/> ranks: step and
    /// next batch times <see cref="WorldSize"/> / <paramref name="worldSize"/>, rounded down.
    /// </summary>
    public CheckpointState AtWorldSize(int worldSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        return worldSize == WorldSize ? this
            : this with { Step = checked(Step * WorldSize) / worldSize, NextBatch = checked(NextBatch * WorldSize) / worldSize, WorldSize = worldSize };
    }
}

/// <summary>
/// Training checkpoints: one safetensors file per save, <c>step-00000500.safetensors</c>, holding
/// the model's weights under their own keys (so <see cref="UNetModel.Load(string, Device?)"/> and PyTorch read
/// them), Adam's state under <c>optimizer.state.{i}.exp_avg</c>, <c>optimizer.state.{i}.exp_avg_sq</c>
/// and <c>optimizer.state.{i}.step</c> (int64 scalar) for the i-th parameter in the optimizer's
/// order, the CPU generator under <c>rng.cpu</c>, and the options and run state in the metadata
/// (the fold under <c>fold</c>: "0" … or "none").
/// Another TorchSharp optimizer's state is TorchSharp's own binary form of it, kept as the uint8
/// tensor <c>optimizer.torchsharp</c>, with the optimizer's type in the metadata <c>optimizer</c>;
/// one that TorchSharp cannot save leaves no state (metadata <c>optimizer_state</c> = <c>none</c>),
/// and resuming from it starts the optimizer afresh (see docs/training-loop.md).
/// Files are written atomically (temp file, flush, rename): a kill at any moment leaves the
/// previous checkpoint intact.
/// </summary>
public static class Checkpoints
{
    private const string Prefix = "step-", Extension = ".safetensors";
    private const string OptimizerPrefix = "optimizer.", RngKey = "rng.cpu";

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

    /// <summary>Writes the checkpoint of <paramref name="state"/>'s step into <paramref name="directory"/> atomically and returns its path.</summary>
    public static string Save(string directory, UNetModel model, OptimizerHelper optimizer, CheckpointState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        Directory.CreateDirectory(directory);
        return SaveAs(PathFor(directory, state.Step), model, optimizer, state);
    }

    /// <summary>
    /// Writes a checkpoint to <paramref name="path"/> atomically (any name: not listed by
    /// <see cref="List"/> unless it is a step file) with <paramref name="extraMetadata"/> added,
    /// and returns the path.
    /// </summary>
    public static string SaveAs(string path, UNetModel model, OptimizerHelper optimizer, CheckpointState state, IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return SaveAs(path, TrainableNetwork.Of(model), optimizer, state, extraMetadata);
    }

    /// <summary>As <see cref="SaveAs(string, UNetModel, OptimizerHelper, CheckpointState, IReadOnlyDictionary{string, string}?)"/> for any trainable network (its options under its own metadata key).</summary>
    public static string SaveAs(string path, ITrainableNetwork model, OptimizerHelper optimizer, CheckpointState state, IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(state);
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } parent) Directory.CreateDirectory(parent);
        using var scope = NewDisposeScope();
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var (name, t) in model.Module.state_dict()) tensors.Add(KeyValuePair.Create(name, t.contiguous()));
        string optimizerState = OptimizerStates.Add(optimizer, tensors);
        tensors.Add(KeyValuePair.Create(RngKey, get_rng_state()));
        var metadata = new Dictionary<string, string>
        {
            [OptimizerStates.TypeKey] = OptimizerStates.TypeName(optimizer),
            [OptimizerStates.StateKey] = optimizerState,
            [model.OptionsMetadataKey] = model.OptionsJson,
            ["step"] = state.Step.ToString(CultureInfo.InvariantCulture),
            ["next_batch"] = state.NextBatch.ToString(CultureInfo.InvariantCulture),
            ["loss_scale"] = state.Scaler.Scale.ToString("R", CultureInfo.InvariantCulture),
            ["scaler_good_steps"] = state.Scaler.GoodSteps.ToString(CultureInfo.InvariantCulture),
            ["scaler_skipped_steps"] = state.Scaler.SkippedSteps.ToString(CultureInfo.InvariantCulture),
            ["seed"] = state.Seed.ToString(CultureInfo.InvariantCulture),
            // The number of data-parallel ranks: Step and NextBatch count each rank's batches.
            [WorldSizeKey] = state.WorldSize.ToString(CultureInfo.InvariantCulture),
        };
        if (state.Fold is { } fold) metadata[FoldKey] = fold;
        foreach (var (key, value) in extraMetadata ?? new Dictionary<string, string>())
            if (!metadata.TryAdd(key, value)) throw new ArgumentException($"metadata key '{key}' is the checkpoint's own", nameof(extraMetadata));
        Safetensors.Save(path, tensors, metadata);
        return path;
    }

    /// <summary>
    /// Restores weights, optimizer and generator state from a checkpoint into a model built with
    /// the same options and an optimizer of the same type over its parameters (a checkpoint
    /// without optimizer state leaves the optimizer as it is: <see cref="CheckpointState.OptimizerRestored"/> false). A checkpoint of another
    /// architecture, or a damaged one, is an <see cref="InvalidDataException"/> naming the file,
    /// raised before anything is changed. The state's step and next batch count batches of each of
    /// <see cref="CheckpointState.WorldSize"/> data-parallel ranks (metadata <c>world_size</c>);
    /// <see cref="CheckpointState.AtWorldSize"/> converts them for another number of ranks.
    /// </summary>
    public static CheckpointState Restore(string path, UNetModel model, OptimizerHelper optimizer)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Restore(path, TrainableNetwork.Of(model), optimizer);
    }

    /// <summary>As <see cref="Restore(string, UNetModel, OptimizerHelper)"/> for any trainable network: the checkpoint must hold its options under its metadata key.</summary>
    public static CheckpointState Restore(string path, ITrainableNetwork model, OptimizerHelper optimizer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        using var scope = NewDisposeScope();
        using var file = Safetensors.Load(path);
        string Meta(string key) => file.Metadata.TryGetValue(key, out var v) ? v
            : throw new InvalidDataException($"{path} is not a training checkpoint: its metadata has no '{key}'");
        model.CheckOptions(path, Meta(model.OptionsMetadataKey));
        long step = long.Parse(Meta("step"), CultureInfo.InvariantCulture), nextBatch = long.Parse(Meta("next_batch"), CultureInfo.InvariantCulture);
        var scaler = new LossScalerState(double.Parse(Meta("loss_scale"), CultureInfo.InvariantCulture), int.Parse(Meta("scaler_good_steps"), CultureInfo.InvariantCulture),
            long.Parse(Meta("scaler_skipped_steps"), CultureInfo.InvariantCulture));
        int seed = int.Parse(Meta("seed"), CultureInfo.InvariantCulture);
        int worldSize = file.Metadata.TryGetValue(WorldSizeKey, out var w) ? int.Parse(w, CultureInfo.InvariantCulture) : 1;
        if (worldSize < 1) throw new InvalidDataException($"{path}: {WorldSizeKey} {worldSize} is not a positive number");
        var state = new CheckpointState(step, nextBatch, scaler, seed, worldSize) { Fold = file.Metadata.GetValueOrDefault(FoldKey) };
        var written = OptimizerStates.Describe(file.Metadata);

        var weights = file.Tensors.Where(kv => !NonWeightPrefixes.Any(p => kv.Key.StartsWith(p, StringComparison.Ordinal))).ToDictionary();
        var optimizerState = file.Tensors.Where(kv => kv.Key.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[OptimizerPrefix.Length..], kv => kv.Value);
        if (!file.Tensors.TryGetValue(RngKey, out var rng)) throw new InvalidDataException($"{path} holds no generator state ({RngKey})");
        bool restored;
        try
        {
            restored = OptimizerStates.Check(path, written, optimizer, optimizerState);
            if (restored && optimizer is Adam adam) CheckOptimizerState(AdamStates(adam), optimizerState);
            StateDicts.LoadInto(model.Module, weights);
            if (restored && optimizer is Adam a) LoadOptimizerState(AdamStates(a), optimizerState);
            else if (restored) OptimizerStates.Load(optimizer, optimizerState);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        catch (StateDictMismatchException e)
        {
            throw new InvalidDataException($"{path} does not fit this model and optimizer: {e.Message}", e);
        }
        set_rng_state(rng);
        return state with { OptimizerRestored = restored };
    }

    /// <summary>Deletes all but the newest <paramref name="keepLast"/> checkpoints.</summary>
    public static void Prune(string directory, int keepLast)
    {
        var all = List(directory);
        foreach (var old in all.Take(Math.Max(0, all.Count - keepLast))) File.Delete(old);
    }

    private const string WorldSizeKey = "world_size";

    /// <summary>The metadata key of the fold a checkpoint's run trained on (<see cref="CheckpointState.Fold"/>).</summary>
    public const string FoldKey = "fold";

    /// <summary>Adam's per-parameter state, in the order of its parameters.</summary>
    internal static List<Adam.State> AdamStates(Adam optimizer) => optimizer.state_dict().State.Cast<Adam.State>().ToList();

    /// <summary>
    /// Checks every <c>state.{i}.*</c> key (keys without the <c>optimizer.</c> prefix) against the
    /// optimizer's state: nothing missing, nothing unexpected, shapes equal; a
    /// <see cref="StateDictMismatchException"/> listing every problem otherwise.
    /// </summary>
    private static void CheckOptimizerState(List<Adam.State> states, Dictionary<string, Tensor> source)
    {
        var missing = new List<string>();
        var mismatched = new List<string>();
        var expected = new HashSet<string>();
        for (int i = 0; i < states.Count; i++)
        {
            var s = states[i];
            var own = new List<(string Name, long[] Shape)> { ("exp_avg", s.exp_avg.shape), ("exp_avg_sq", s.exp_avg_sq.shape) };
            if (s.max_exp_avg_sq is { } max) own.Add(("max_exp_avg_sq", max.shape));
            own.Add(("step", []));
            foreach (var (name, want) in own)
            {
                string key = $"state.{i}.{name}";
                expected.Add(key);
                if (!source.TryGetValue(key, out var t)) { missing.Add(key); continue; }
                long[] got = t.shape;
                if (!want.SequenceEqual(got))
                    mismatched.Add($"{key}: expected shape [{string.Join(", ", want)}], got [{string.Join(", ", got)}]");
                else if (name == "step" && (is_floating_point(t.dtype) || t.dtype == ScalarType.Bool))
                    mismatched.Add($"{key}: expected an integer step, got {t.dtype}");
                else if (name != "step" && !is_floating_point(t.dtype))
                    mismatched.Add($"{key}: expected a floating-point tensor, got {t.dtype}");
            }
        }
        var unexpected = source.Keys.Where(k => !expected.Contains(k)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0 || mismatched.Count > 0)
            throw new StateDictMismatchException(nameof(Adam), missing, unexpected, mismatched);
    }

    /// <summary>Copies checked state into the optimizer's own tensors (in place, converting dtype and device).</summary>
    private static void LoadOptimizerState(List<Adam.State> states, Dictionary<string, Tensor> source)
    {
        using var noGrad = no_grad();
        for (int i = 0; i < states.Count; i++)
        {
            var s = states[i];
            s.exp_avg.copy_(source[$"state.{i}.exp_avg"]);
            s.exp_avg_sq.copy_(source[$"state.{i}.exp_avg_sq"]);
            s.max_exp_avg_sq?.copy_(source[$"state.{i}.max_exp_avg_sq"]);
            s.step = source[$"state.{i}.step"].to(ScalarType.Int64).item<long>();
        }
    }

    /// <summary>The tensors of a checkpoint that are not weights.</summary>
    internal static IReadOnlyList<string> NonWeightPrefixes => UNetModel.NonWeightPrefixes;

    /// <summary>Throws an <see cref="InvalidDataException"/> naming <paramref name="path"/> unless <paramref name="json"/> is <paramref name="model"/>'s U-Net options.</summary>
    internal static void CheckOptions(string path, string json, UNetOptions model)
    {
        UNetOptions options;
        try
        {
            options = UNetOptions.FromJson(json);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"{path}: the '{UNetModel.OptionsMetadataKey}' metadata is not valid U-Net options ({e.Message})", e);
        }
        // The memory layout is not the architecture: a checkpoint resumes in either layout.
        if (options with { ChannelsLast = model.ChannelsLast } != model)
            throw new InvalidDataException($"{path} was written for another architecture ({Describe(options)}) than this model ({Describe(model)})");
    }

    private static string Describe(UNetOptions o) =>
        $"{o.BaseFilters} filters, depth {o.Depth}, {o.Padding} padding, {o.Upsampling}, batch norm {(o.BatchNorm ? "on" : "off")}, {o.InputChannels} in, {o.Classes} classes";
}
