using TorchSharp;
using UNet.Segmentation.Data;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Scoring;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.Precision;
using static TorchSharp.torch;

namespace UNet.Segmentation.Training;

/// <summary>
/// Measures a model on held-out slices without a trainer (no optimizer, no loss scaler): the
/// reference's evaluation, no augmentation, inference mode, the model in evaluation mode for the
/// call. The model stays the caller's and stays on its device; the evaluator only reads it.
/// In bfloat16 or float16 each evaluation runs on a <see cref="MixedPrecisionModel"/> working
/// copy made (or, for the trainer's evaluator, refreshed) once per call, not per batch.
/// The trainer evaluates through one of these too.
/// </summary>
public sealed class Evaluator
{
    private readonly MixedPrecisionModel? _shared;

    /// <summary>An evaluator of <paramref name="model"/>; <paramref name="options"/> are validated (every problem in one <see cref="ArgumentException"/>).</summary>
    public Evaluator(UNetModel model, EvaluatorOptions? options = null) : this(model, options, shared: null)
    {
    }

    /// <summary>An evaluator that runs mixed precision on <paramref name="shared"/> (the trainer's working copy of <paramref name="model"/>) instead of making its own.</summary>
    internal Evaluator(UNetModel model, EvaluatorOptions? options, MixedPrecisionModel? shared)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        var given = options ?? new EvaluatorOptions();
        OptionsValidationException.ThrowIfAny(given.Validate(), "evaluator options");
        Options = given with { Data = given.Data.ForModel(model) };
        _shared = shared;
    }

    /// <summary>The model measured.</summary>
    public UNetModel Model { get; }

    /// <summary>Batch size, precision, device and preprocessing.</summary>
    public EvaluatorOptions Options { get; }

    /// <summary>Metrics of the model on <paramref name="slices"/> of <paramref name="data"/>.</summary>
    /// <exception cref="ArgumentException">The data's channels or classes differ from the model's.</exception>
    public SegmentationMetrics Evaluate(SegmentationData data, IReadOnlyList<int> slices)
    {
        CheckFits(Model, data);
        ArgumentNullException.ThrowIfNull(slices);
        return InEvaluation(forward =>
        {
            var accumulator = new MetricsAccumulator();
            foreach (var batch in data.EvaluationBatches(slices, Options.BatchSize, Options.Data with { Augment = false }))
            {
                using (batch)
                using (var scope = NewDisposeScope())
                    accumulator.Add(forward(OnDevice(batch.Images)), OnDevice(batch.Labels));
            }
            return accumulator.Result();
        });
    }

    /// <summary>
    /// Runs <paramref name="body"/> with the evaluator's forward pass (logits in the compute type,
    /// in the caller's dispose scope) in inference mode, the model (and the working copy) in
    /// evaluation mode; their modes are restored afterwards.
    /// </summary>
    internal T InEvaluation<T>(Func<Func<Tensor, Tensor>, T> body)
    {
        bool wasTraining = Model.training;
        Model.eval();
        var mixed = _shared;
        MixedPrecisionModel? own = null;
        bool copyWasTraining = mixed?.Working.training ?? false;
        try
        {
            if (mixed is null) mixed = own = Options.Precision.WorkingCopy(Model);
            else mixed.Refresh(); // in step with the master after every optimizer step; refreshed anyway, once per evaluation
            mixed?.Working.eval();
            using var inference = inference_mode();
            return body(images => mixed is null ? Model.call(images) : mixed.Forward(images));
        }
        finally
        {
            own?.Dispose();
            _shared?.Working.train(copyWasTraining);
            Model.train(wasTraining);
        }
    }

    /// <summary>
    /// The whole validation record of the model on <paramref name="split"/>'s validation slices,
    /// written into <paramref name="directory"/> (see <see cref="ValidationReport"/>): the metrics
    /// (measured now unless given), and for ISBI data the full-resolution maps predicted with
    /// <paramref name="predictorOptions"/> (default: the reference's resize in this evaluator's
    /// precision and device), their map Dice and the challenge's V_rand and V_info.
    /// <paramref name="steps"/> is recorded as the training steps behind the model.
    /// </summary>
    public ValidationReport Report(SegmentationData data, FoldSplit split, string directory, PredictorOptions? predictorOptions = null, long? steps = null, SegmentationMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(split);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var measured = metrics ?? Evaluate(data, split.Validation);
        var options = predictorOptions ?? new PredictorOptions { Precision = Options.Precision, Device = Options.Device };
        return ValidationReport.Write(this, data, split, measured, options, directory, steps);
    }

    /// <summary>
    /// The challenge's V_rand and V_info of the model's full-resolution maps of ISBI
    /// <paramref name="slices"/> (the reference's resize path, this evaluator's precision and
    /// device); null for other data, which has no instance labels to score against.
    /// </summary>
    public ChallengeScoreReport? ChallengeScores(SegmentationData data, IReadOnlyList<int> slices)
    {
        CheckFits(Model, data);
        ArgumentNullException.ThrowIfNull(slices);
        if (data is not IsbiDataset isbi || slices.Count == 0) return null;
        var (probabilities, labels) = ValidationMaps(isbi, slices, new PredictorOptions { Precision = Options.Precision, Device = Options.Device });
        return Scoring.ChallengeScores.Compute(probabilities, labels, slices.Count, isbi.Height, isbi.Width);
    }

    /// <summary>The full-resolution interior probabilities of ISBI <paramref name="slices"/> predicted with <paramref name="options"/>, and their labels, page after page.</summary>
    internal (float[] Probabilities, byte[] Labels) ValidationMaps(IsbiDataset isbi, IReadOnlyList<int> slices, PredictorOptions options)
    {
        using var predictor = new Predictor(Model, options, _shared);
        var probabilities = predictor.PredictTrainingSlices(isbi, slices);
        int area = isbi.Height * isbi.Width;
        var labels = new byte[slices.Count * area];
        for (int i = 0; i < slices.Count; i++) isbi.TrainLabels.Span.Slice(slices[i] * area, area).CopyTo(labels.AsSpan(i * area));
        return (probabilities, labels);
    }

    /// <summary>The data must fit the model: its image channels are the model's input channels, its classes the model's outputs.</summary>
    internal static void CheckFits(UNetModel model, SegmentationData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.ImageChannels != model.Options.InputChannels || data.Classes != model.Options.Classes)
            throw new ArgumentException(
                $"{data.Source} has {data.ImageChannels}-channel images and {data.Classes} classes; the model takes {model.Options.InputChannels} channel(s) and predicts {model.Options.Classes} classes", nameof(data));
    }

    private Tensor OnDevice(Tensor t) => Options.Device.type == DeviceType.CPU ? t : t.to(Options.Device);
}

/// <summary>What an <see cref="Evaluator"/> needs besides the model.</summary>
public sealed record EvaluatorOptions
{
    /// <summary>Slices per forward pass.</summary>
    public int BatchSize { get; init; } = 8;
    /// <summary>Numeric precision of the forward pass.</summary>
    public Precision Precision { get; init; } = Precision.Float32;
    /// <summary>The device the model is on.</summary>
    public Device Device { get; init; } = CPU;
    /// <summary>Preprocessing (augmentation is always off).</summary>
    public DataOptions Data { get; init; } = DataOptions.Reference;

    /// <summary>Every problem, each naming its option; empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var p = new List<string>();
        if (BatchSize < 1) p.Add($"{nameof(BatchSize)} must be at least 1 (got {BatchSize})");
        if (!Enum.IsDefined(Precision)) p.Add($"{nameof(Precision)} {Precision} is not a known precision");
        if (Device is null) p.Add($"{nameof(Device)} is null");
        else if (Precision == Precision.Float16 && Device.type != DeviceType.CUDA)
            p.Add($"{nameof(Precision)} Float16 needs a CUDA device (CPU mixed precision is bfloat16 only): use BFloat16 on {Device}");
        if (Data is null) p.Add($"{nameof(Data)} is null");
        else p.AddRange(Data.Validate().Select(d => $"{nameof(Data)}.{d}"));
        return p;
    }
}
