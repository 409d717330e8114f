using System.Globalization;
using TorchSharp;
using UNet.Segmentation.Model;
using UNet.Segmentation.Serialization;
using UNet.Segmentation.Training;
using static TorchSharp.torch;
using Adam = TorchSharp.Modules.Adam;

namespace UNet.Segmentation.Tests.Training;

/// <summary>
/// Checkpoints written before the port to TorchSharp (by our own libtorch binding) still load:
/// the file below is laid out exactly as that code's <c>Checkpoints.Save</c> wrote it (git
/// history: src/UNet.Segmentation/Training/Checkpoints.cs before the "Engine on TorchSharp 0.107"
/// commit), and <see cref="Checkpoints.Restore"/> must bring back its weights, buffers, Adam
/// state, generator and run state. A checkpoint that does not fit is refused with a typed
/// exception before anything changes.
/// </summary>
[Collection("LiveTensors")]
public sealed class CheckpointCompatibilityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("legacy-checkpoint-").FullName;

    /// <summary>Batch norm on, so buffers (running statistics, an int64 counter) are in the file too.</summary>
    private static readonly UNetOptions Options = UNetOptions.Reference with { BaseFilters = 2, Depth = 2, InputSize = 92, BatchNorm = true };

    /// <summary>The options as the old code's <c>UNetOptions.ToJson</c> wrote them into the metadata, frozen here.</summary>
    private const string OldOptionsJson =
        """{"InputChannels":1,"Classes":2,"BaseFilters":2,"Depth":2,"Padding":"Valid","DropoutRate":0.5,"Upsampling":"TransposedConv3x3","BatchNorm":true,"ChannelsLast":false,"Initialization":"GlorotUniform","InputSize":92}""";

    private const int RngSeed = 4321;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// The old <c>UNetModel.Parameters()</c> order, which numbered the old Adam's state
    /// (<c>optimizer.state.{i}</c>): modules in pre-order, each module's own parameters first; a
    /// conv block registered conv1, bn1, conv2, bn2 and then its upconv (bottleneck, decoder) or
    /// conv3 (output block); the model registered input_block, down_blocks, bottleneck,
    /// up_blocks, output_block.
    /// </summary>
    private static List<string> OldParameterOrder(UNetOptions o)
    {
        var names = new List<string>();
        void Block(string block, string? extra)
        {
            foreach (int k in new[] { 1, 2 })
            {
                names.Add($"{block}.conv{k}.weight");
                if (!o.BatchNorm) names.Add($"{block}.conv{k}.bias");
                if (o.BatchNorm) names.AddRange([$"{block}.bn{k}.weight", $"{block}.bn{k}.bias"]);
            }
            if (extra is not null) names.AddRange([$"{block}.{extra}.weight", $"{block}.{extra}.bias"]);
        }
        Block("input_block", null);
        for (int i = 0; i < o.Depth - 1; i++) Block($"down_blocks.{i}", null);
        Block("bottleneck", "upconv");
        for (int i = 0; i < o.Depth - 1; i++) Block($"up_blocks.{i}", "upconv");
        Block("output_block", "conv3");
        return names;
    }

    /// <summary>The old model's buffers (after the parameters in its state dict): each batch norm's running statistics and counter.</summary>
    private static List<string> OldBuffers(UNetOptions o)
    {
        if (!o.BatchNorm) return [];
        var blocks = new List<string> { "input_block" };
        blocks.AddRange(Enumerable.Range(0, o.Depth - 1).Select(i => $"down_blocks.{i}"));
        blocks.Add("bottleneck");
        blocks.AddRange(Enumerable.Range(0, o.Depth - 1).Select(i => $"up_blocks.{i}"));
        blocks.Add("output_block");
        return blocks.SelectMany(b => new[] { 1, 2 }.SelectMany(k => new[] { "running_mean", "running_var", "num_batches_tracked" }.Select(s => $"{b}.bn{k}.{s}"))).ToList();
    }

    /// <summary>
    /// Writes a checkpoint in the old layout: the weights and buffers under the old model's
    /// state-dict keys, <c>optimizer.state.{i}.exp_avg</c>, <c>.exp_avg_sq</c> and <c>.step</c>
    /// (int64 scalar) in the old parameter order, the CPU generator under <c>rng.cpu</c>, and the
    /// old metadata (world_size as given; null leaves it out, as files from before it existed).
    /// Returns the path and every tensor written (owned by the caller's dispose scope).
    /// </summary>
    private (string Path, Dictionary<string, Tensor> Written) WriteOldCheckpoint(string? worldSize, Func<string, bool>? keep = null, Func<string, Tensor, Tensor>? change = null)
    {
        using var shapes = new UNetModel(Options); // only for the shapes of the old keys
        var own = shapes.state_dict();
        long[] Shape(string key) => own.TryGetValue(key, out var t) ? t.shape
            : throw new Xunit.Sdk.XunitException($"the ported model has no '{key}', a key of the old model's state dict");

        manual_seed(77);
        var written = new Dictionary<string, Tensor>();
        foreach (var name in OldParameterOrder(Options)) written[name] = randn(Shape(name));
        foreach (var name in OldBuffers(Options))
            written[name] = name.EndsWith("num_batches_tracked", StringComparison.Ordinal) ? tensor(17L)
                : name.EndsWith("running_var", StringComparison.Ordinal) ? rand(Shape(name)).add(0.5) : randn(Shape(name));
        var order = OldParameterOrder(Options);
        for (int i = 0; i < order.Count; i++)
        {
            written[$"optimizer.state.{i}.exp_avg"] = randn(Shape(order[i])).mul(1e-3);
            written[$"optimizer.state.{i}.exp_avg_sq"] = rand(Shape(order[i])).mul(1e-6);
            written[$"optimizer.state.{i}.step"] = tensor(40L + i);
        }
        manual_seed(RngSeed);
        written["rng.cpu"] = get_rng_state();

        var metadata = new Dictionary<string, string>
        {
            [UNetModel.OptionsMetadataKey] = OldOptionsJson,
            ["step"] = "120",
            ["next_batch"] = "121",
            ["loss_scale"] = 32768.0.ToString("R", CultureInfo.InvariantCulture),
            ["scaler_good_steps"] = "7",
            ["scaler_skipped_steps"] = "2",
            ["seed"] = "11",
        };
        if (worldSize is not null) metadata["world_size"] = worldSize;
        var entries = written.Where(kv => keep?.Invoke(kv.Key) ?? true)
            .Select(kv => KeyValuePair.Create(kv.Key, change?.Invoke(kv.Key, kv.Value) ?? kv.Value)).ToList();
        string path = Checkpoints.PathFor(_dir, 120);
        Safetensors.Save(path, entries, metadata);
        return (path, written);
    }

    [Theory]
    [InlineData("1", 1)]
    [InlineData(null, 1)]   // files from before world_size was recorded
    [InlineData("4", 4)]    // a data-parallel run of 4 processes: resumes at the same samples seen
    public void ACheckpointOfTheOldCode_RestoresWeightsAdamStateGeneratorAndRunState(string? worldSize, int factor)
    {
        using var scope = NewDisposeScope();
        var (path, written) = WriteOldCheckpoint(worldSize);
        manual_seed(RngSeed);
        var expectedDraw = randn(8);

        manual_seed(5); // another initialisation: the checkpoint must overwrite it
        using var model = new UNetModel(Options);
        using var adam = torch.optim.Adam(model.parameters(), 1e-4, 0.9, 0.999, 1e-7, weight_decay: 0);
        var state = Checkpoints.Restore(path, model, adam);

        Assert.Equal(new CheckpointState(120, 121, new LossScalerState(32768, 7, 2), 11, factor), state);
        // In one process it continues at the same number of samples seen.
        Assert.Equal((120L * factor, 121L * factor, 1), (state.AtWorldSize(1).Step, state.AtWorldSize(1).NextBatch, state.AtWorldSize(1).WorldSize));
        foreach (var (name, p) in model.named_parameters())
            Assert.True(p.Equals(written[name]), $"{name} was not restored");
        foreach (var name in OldBuffers(Options))
        {
            var buffer = model.named_buffers().Single(b => b.name == name).buffer;
            Assert.Equal(written[name].dtype, buffer.dtype);
            Assert.True(buffer.Equals(written[name]), $"{name} was not restored");
        }

        var order = OldParameterOrder(Options);
        var names = model.named_parameters().Select(p => p.name).ToList();
        var states = adam.state_dict().State.Cast<Adam.State>().ToList();
        Assert.Equal(order.Count, states.Count);
        for (int j = 0; j < states.Count; j++)
        {
            int i = order.IndexOf(names[j]);
            Assert.True(i >= 0, $"{names[j]} is not a parameter of the old model");
            Assert.True(states[j].exp_avg.Equals(written[$"optimizer.state.{i}.exp_avg"]), $"exp_avg of {names[j]} (old state {i})");
            Assert.True(states[j].exp_avg_sq.Equals(written[$"optimizer.state.{i}.exp_avg_sq"]), $"exp_avg_sq of {names[j]} (old state {i})");
            Assert.Equal(40L + i, states[j].step);
        }

        Assert.True(randn(8).Equals(expectedDraw), "the generator was not restored");

        // The restored run goes on: one more Adam step from the old state is finite.
        model.train();
        var input = randn(1, 1, 92, 92);
        var labels = zeros([1, 52, 52], ScalarType.Int64);
        Losses.DiceCrossEntropy(model.call(input), labels).backward();
        adam.step();
        Assert.All(model.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
        Assert.Equal(41L + order.IndexOf(names[0]), states[0].step);
    }

    public static TheoryData<string, string> Damages() => new()
    {
        { "no Adam step", "optimizer.state.5.step" },
        { "no moment", "optimizer.state.0.exp_avg_sq" },
        { "no weight", "bottleneck.conv2.weight" },
        { "a wrong shape", "optimizer.state.3.exp_avg" },
        { "an extra Adam state", "optimizer.state.999.exp_avg" },
    };

    [Theory]
    [MemberData(nameof(Damages))]
    public void AnOldCheckpointThatDoesNotFit_IsRefusedByName_BeforeAnythingChanges(string damage, string key)
    {
        using var scope = NewDisposeScope();
        var (path, _) = damage switch
        {
            "a wrong shape" => WriteOldCheckpoint("1", change: (k, t) => k == key ? t.flatten() : t),
            "an extra Adam state" => WriteExtra(key),
            _ => WriteOldCheckpoint("1", keep: k => k != key),
        };
        manual_seed(5);
        using var model = new UNetModel(Options);
        using var adam = torch.optim.Adam(model.parameters(), 1e-4);
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var rngBefore = get_rng_state();

        var ex = Assert.Throws<InvalidDataException>(() => Checkpoints.Restore(path, model, adam));
        Assert.Contains(path, ex.Message);
        Assert.Contains(key.Replace("optimizer.", "", StringComparison.Ordinal), ex.Message);
        Assert.IsType<StateDictMismatchException>(ex.InnerException);

        foreach (var (name, t) in model.state_dict())
            Assert.True(t.Equals(before[name]), $"{name} changed although the checkpoint was refused");
        Assert.All(adam.state_dict().State.Cast<Adam.State>(), s =>
        {
            Assert.Equal(0L, s.step);
            Assert.Equal(0.0, s.exp_avg.abs().sum().ToDouble());
        });
        Assert.True(get_rng_state().Equals(rngBefore), "the generator changed although the checkpoint was refused");
    }

    private (string, Dictionary<string, Tensor>) WriteExtra(string key)
    {
        var (path, written) = WriteOldCheckpoint("1");
        using var file = Safetensors.Load(path);
        var tensors = file.Tensors.Select(kv => KeyValuePair.Create(kv.Key, kv.Value)).Append(KeyValuePair.Create(key, zeros(3))).ToList();
        Safetensors.Save(path, tensors, file.Metadata.ToDictionary());
        return (path, written);
    }
}
