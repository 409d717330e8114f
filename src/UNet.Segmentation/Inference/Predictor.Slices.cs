using UNet.Segmentation.Data;

namespace UNet.Segmentation.Inference;

public sealed partial class Predictor
{
    /// <summary>
    /// The interior probability (class 1) of every pixel of <paramref name="data"/>'s training
    /// slices <paramref name="slices"/>, page after page (slices × height × width, row-major), at
    /// full resolution with this predictor's options: what the ISBI challenge scores
    /// (<see cref="Scoring.ChallengeScores.Compute(ReadOnlySpan{float}, ReadOnlySpan{byte}, int, int, int)"/>,
    /// in UNet.Segmentation.Core, against the same slices' labels), e.g. for a fold's held-out
    /// slices. Slices go <see cref="PredictionOptions.BatchSize"/> at a time.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A slice lies outside the training slices.</exception>
    /// <exception cref="InvalidOperationException">The model does not take one channel or has fewer than two classes.</exception>
    public float[] PredictTrainingSlices(IsbiDataset data, IReadOnlyList<int> slices)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(slices);
        foreach (int s in slices)
            if (s < 0 || s >= data.TrainSlices) throw new ArgumentOutOfRangeException(nameof(slices), s, $"slice {s} is outside 0..{data.TrainSlices - 1}");
        CheckGreyTwoClass();
        int area = data.Height * data.Width;
        var result = new float[(long)slices.Count * area];
        var images = data.TrainImages.Span;
        for (int start = 0; start < slices.Count; start += Options.BatchSize)
        {
            int count = Math.Min(Options.BatchSize, slices.Count - start);
            var chunk = new byte[count * area];
            for (int i = 0; i < count; i++) images.Slice(slices[start + i] * area, area).CopyTo(chunk.AsSpan(i * area));
            var p = PredictProbabilities(FloatImages.FromGrayBytes(chunk, count, data.Height, data.Width));
            for (int i = 0; i < count; i++) p.Plane(i, 1).CopyTo(result.AsSpan((start + i) * area, area));
        }
        return result;
    }
}
