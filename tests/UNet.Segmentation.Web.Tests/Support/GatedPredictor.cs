using UNet.Segmentation.Inference;

namespace UNet.Segmentation.Web.Tests.Support;

/// <summary>The options of <see cref="GatedPredictor"/>: the pipeline's defaults.</summary>
internal sealed record GatedOptions : PredictionOptions;

/// <summary>
/// A predictor whose network waits for the test to open its gate: predictions hold their slot for
/// as long as the test wants, so the queue and the timeout can be tested without guessing at speed.
/// Its network answers class 0 everywhere.
/// </summary>
internal sealed class GatedPredictor() : SegmentationPredictor<GatedOptions>(new GatedOptions { Input = InputMode.OverlapTile })
{
    private readonly GatedNetwork _network = new();

    protected override ISegmentationNetwork Network => _network;

    /// <summary>Lets every waiting and later network call through.</summary>
    public void Open() => _network.Gate.Set();

    private sealed class GatedNetwork : ISegmentationNetwork
    {
        public ManualResetEventSlim Gate { get; } = new(false);

        public int InputChannels => 1;

        public int Classes => 2;

        public int InputSize => 8;

        public int OutputSize => 8;

        public void Probabilities(ReadOnlySpan<float> inputs, int count, Span<float> probabilities)
        {
            if (!Gate.Wait(TimeSpan.FromMinutes(2))) throw new TimeoutException("the test never opened the gate");
            int plane = OutputSize * OutputSize;
            for (int n = 0; n < count; n++)
            {
                probabilities.Slice((2 * n) * plane, plane).Fill(1);
                probabilities.Slice((2 * n + 1) * plane, plane).Fill(0);
            }
        }
    }
}
