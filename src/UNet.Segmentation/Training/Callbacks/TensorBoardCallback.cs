using TorchSharp;
using UNet.Segmentation.Visualization;
using static TorchSharp.torch;

namespace UNet.Segmentation.Training.Callbacks;

/// <summary>
/// Writes TensorBoard event files into a folder through TorchSharp's own
/// <c>torch.utils.tensorboard.SummaryWriter</c>. On every logged step (every
/// <see cref="TrainerOptions.LogEvery"/>) it adds the scalars <c>train/loss</c>, <c>train/dice</c>,
/// <c>train/learning_rate</c>, <c>train/images_per_second</c> and <c>train/loss_scale</c>, the
/// values of the step's <see cref="StepRecord"/> (those of the metrics file, as float32). On every
/// evaluation it adds <c>val/dice</c> (<see cref="SegmentationMetrics.ReferenceDice"/>),
/// <c>val/hard_dice</c>, <c>val/dice_class_{k}</c> per class, <c>val/iou</c>, <c>val/accuracy</c>
/// and <c>val/cross_entropy</c>, <c>val/v_rand</c> and <c>val/v_info</c> when the evaluation
/// has the challenge's scores (<see cref="TrainerOptions.ChallengeScores"/>), with
/// <c>val/v_rand_thinned</c> and <c>val/v_info_thinned</c>, the official scores after border
/// thinning, when it has those (every validation slice has an interior label), and the first <see cref="ImagesPerEvaluation"/> validation
/// samples as RGB images <c>val/overlay_{i}</c>: the label overlay (left) beside the prediction
/// overlay (right), tinted as <see cref="Overlays"/> does. Rank 0 only.
/// </summary>
public sealed class TensorBoardCallback : ITrainingCallback, IDisposable
{
    private TorchSharp.Modules.SummaryWriter? _writer;

    /// <summary>Writes into <paramref name="logDirectory"/> (created when missing), with <paramref name="imagesPerEvaluation"/> overlays per evaluation (0: none).</summary>
    public TensorBoardCallback(string logDirectory, int imagesPerEvaluation = 3)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(logDirectory);
        ArgumentOutOfRangeException.ThrowIfNegative(imagesPerEvaluation);
        (LogDirectory, ImagesPerEvaluation) = (logDirectory, imagesPerEvaluation);
    }

    /// <summary>The folder of the event files.</summary>
    public string LogDirectory { get; }

    /// <summary>Validation overlays added per evaluation.</summary>
    public int ImagesPerEvaluation { get; }

    /// <inheritdoc />
    public void OnFitStart(TrainingContext context) => _writer ??= torch.utils.tensorboard.SummaryWriter(LogDirectory);

    /// <inheritdoc />
    public void OnStepEnd(TrainingContext context, TrainingStep step)
    {
        if (_writer is null || step.Logged is not { } r) return;
        int s = checked((int)r.Step);
        long wall = WallTime();
        _writer.add_scalar("train/loss", (float)r.Loss, s, wall);
        _writer.add_scalar("train/dice", (float)r.Dice, s, wall);
        _writer.add_scalar("train/learning_rate", (float)r.LearningRate, s, wall);
        _writer.add_scalar("train/images_per_second", (float)r.ImagesPerSecond, s, wall);
        _writer.add_scalar("train/loss_scale", (float)r.LossScale, s, wall);
    }

    /// <inheritdoc />
    public void OnEvaluationEnd(TrainingContext context, EvaluationRecord evaluation)
    {
        if (_writer is null) return;
        var m = evaluation.Metrics;
        int s = checked((int)evaluation.Step);
        long wall = WallTime();
        _writer.add_scalar("val/dice", (float)m.ReferenceDice, s, wall);
        _writer.add_scalar("val/hard_dice", (float)m.HardMeanDice, s, wall);
        for (int k = 0; k < m.HardDicePerClass.Count; k++) _writer.add_scalar($"val/dice_class_{k}", (float)m.HardDicePerClass[k], s, wall);
        _writer.add_scalar("val/iou", (float)m.MeanIoU, s, wall);
        _writer.add_scalar("val/accuracy", (float)m.PixelAccuracy, s, wall);
        _writer.add_scalar("val/cross_entropy", (float)m.CrossEntropy, s, wall);
        if (evaluation.Scores is { } scores)
        {
            _writer.add_scalar("val/v_rand", (float)scores.VRand, s, wall);
            _writer.add_scalar("val/v_info", (float)scores.VInfo, s, wall);
            if (scores.Thinned is { } thinned)
            {
                _writer.add_scalar("val/v_rand_thinned", (float)thinned.VRand, s, wall);
                _writer.add_scalar("val/v_info_thinned", (float)thinned.VInfo, s, wall);
            }
        }
        if (ImagesPerEvaluation > 0) AddOverlays(context, s, wall);
    }

    /// <inheritdoc />
    public void OnFitEnd(TrainingContext context, FitSummary summary) => Dispose();

    /// <summary>Lets go of the writer (TorchSharp's writer opens and closes its file on every event, so nothing stays open); a later fit starts a new event file.</summary>
    public void Dispose() => _writer = null;

    // TensorBoard's wall time is seconds since the Unix epoch (TorchSharp takes whole seconds; left out, it writes DateTime.Now.Ticks).
    private static long WallTime() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private void AddOverlays(TrainingContext context, int step, long wall)
    {
        var validation = context.Fold.Validation;
        if (validation.Count == 0) return;
        var evaluator = context.Trainer.Evaluator.Options;
        var device = evaluator.Device;
        // Overlays take grey or RGB pictures: other channel counts show their first channel.
        int channels = context.Data.ImageChannels is 1 or 3 ? context.Data.ImageChannels : 1;
        // The evaluator's forward pass: evaluation and inference mode, its precision (the trainer's working copy).
        context.Trainer.Evaluator.InEvaluation(forward =>
        {
            int added = 0;
            var items = validation.Take(ImagesPerEvaluation).ToArray();
            foreach (var batch in context.Data.EvaluationBatches(items, evaluator.BatchSize, evaluator.Data with { Augment = false }))
            {
                using (batch)
                using (var scope = NewDisposeScope())
                {
                    var images = device.type == DeviceType.CPU ? batch.Images : batch.Images.to(device);
                    var predicted = forward(images).argmax(1).cpu();
                    long n = batch.Images.shape[0], size = batch.Images.shape[2], outSize = batch.Classes.shape[1], offset = (size - outSize) / 2;
                    for (long i = 0; i < n && added < ImagesPerEvaluation; i++, added++)
                    {
                        var centre = batch.Images.select(0, i).narrow(0, 0, channels).narrow(1, offset, outSize).narrow(2, offset, outSize); // C×O×O
                        byte[] pixels = BatchPictures.ImageToGray(centre.permute(1, 2, 0)); // interleaved O×O×C
                        var label = Overlay(pixels, channels, batch.Classes.select(0, i), context.Data.Classes);
                        var prediction = Overlay(pixels, channels, predicted.select(0, i), context.Data.Classes);
                        int o = (int)outSize;
                        var sideBySide = new byte[o * 2 * o * 3];
                        for (int y = 0; y < o; y++)
                        {
                            Array.Copy(label, y * o * 3, sideBySide, y * 2 * o * 3, o * 3);
                            Array.Copy(prediction, y * o * 3, sideBySide, (y * 2 * o + o) * 3, o * 3);
                        }
                        using var hwc = tensor(sideBySide, [outSize, 2 * outSize, 3], ScalarType.Byte);
                        _writer!.add_img($"val/overlay_{added}", hwc, step, wall, "HWC");
                    }
                }
                if (added >= ImagesPerEvaluation) break;
            }
            return added;
        });
    }

    // Two classes on grey images: membranes (class 0) tinted, as the batch pictures do; otherwise every class k ≥ 1 in its colour.
    private static byte[] Overlay(byte[] pixels, int channels, Tensor classes, int classCount)
    {
        if (classCount == 2 && channels == 1) return Overlays.Blend(pixels, BatchPictures.ClassesToGray(classes));
        using var scope = NewDisposeScope();
        byte[] indices = classes.to(ScalarType.Byte).contiguous().data<byte>().ToArray();
        return Overlays.BlendClasses(pixels, channels, indices);
    }
}
