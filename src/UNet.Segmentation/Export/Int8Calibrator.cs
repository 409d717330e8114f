using System.Globalization;
using UNet.Segmentation.Export.Onnx;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace UNet.Segmentation.Export;

/// <summary>
/// Measures the ranges of a float graph's activations on calibration images: it is the network
/// (<see cref="ISegmentationNetwork"/>) the prediction pipeline (<see cref="ProbabilityMaps"/>)
/// runs, so the images reach it prepared exactly as a predictor with the same options prepares
/// them (resized and padded, or cut into mirrored tiles), and it runs the graph that will be
/// written (<see cref="OnnxTorchInterpreter"/>) on TorchSharp's CPU operators. Every value is
/// checked for NaN and infinities; the observed ones get their minimum and maximum (first pass)
/// and, for <see cref="CalibrationMethod.Percentile"/>, a histogram of
/// <see cref="HistogramBins"/> bins between them (second pass), from which the pooled
/// percentiles are read.
/// </summary>
internal sealed class Int8Calibrator : ISegmentationNetwork, IDisposable
{
    /// <summary>Bins of a percentile histogram: a percentile is found to within 1/16384 of its activation's full range, finer than a uint8 step (1/255).</summary>
    public const int HistogramBins = 16384;

    // Held, not temporaries per activation (see Training/Losses.cs, Two); int, as the literals were.
    private static readonly Scalar FirstBin = 0.ToScalar(), LastBin = (HistogramBins - 1).ToScalar();

    private readonly OnnxTorchInterpreter _interpreter;
    private readonly UNetOptions _options;
    private readonly Dictionary<string, Statistics> _observed;
    private bool _histograms;
    private string _image = "";

    private sealed class Statistics
    {
        public double Min = double.PositiveInfinity, Max = double.NegativeInfinity;
        public long Count;
        public double[]? Histogram;
    }

    public Int8Calibrator(GraphProto graph, UNetOptions options, IEnumerable<string> observed)
    {
        _interpreter = new OnnxTorchInterpreter(graph);
        _options = options;
        _observed = observed.Distinct(StringComparer.Ordinal).ToDictionary(n => n, _ => new Statistics(), StringComparer.Ordinal);
    }

    public int InputChannels => _options.InputChannels;

    public int Classes => _options.Classes;

    public int InputSize => _options.InputSize;

    public int OutputSize => _options.OutputSize(_options.InputSize);

    /// <summary>Each observed value's range [lo, hi] by <paramref name="quantization"/>'s method, measured on its images.</summary>
    /// <remarks>An activation that is 0 throughout (a ReLU that never fires on these images: trained networks have them) gets the range [0, 0], which the quantizer widens.</remarks>
    /// <exception cref="Int8CalibrationException">An image does not fit or is constant, or an activation is NaN or infinite.</exception>
    public IReadOnlyDictionary<string, (float Lo, float Hi)> Calibrate(Int8Quantization quantization)
    {
        foreach (var image in quantization.Calibration) Check(image);
        Pass(quantization, histograms: false);
        if (quantization.Method == CalibrationMethod.MinMax || quantization.Percentile >= 100)
            return _observed.ToDictionary(o => o.Key, o => ((float)o.Value.Min, (float)o.Value.Max), StringComparer.Ordinal);
        Pass(quantization, histograms: true);
        return _observed.ToDictionary(o => o.Key, o => Percentiles(o.Value, quantization.Percentile), StringComparer.Ordinal);
    }

    private void Check(CalibrationImage image)
    {
        var p = image.Pixels;
        if (p.Channels != InputChannels)
            throw new Int8CalibrationException($"calibration image '{image.Name}' has {p.Channels} channel(s); the model takes {InputChannels}", image.Name);
        float first = p.Data[0];
        bool constant = true;
        foreach (float v in p.Data)
        {
            if (!float.IsFinite(v)) throw new Int8CalibrationException($"calibration image '{image.Name}' holds NaN or infinite values", image.Name);
            if (v != first) constant = false;
        }
        if (constant)
            throw new Int8CalibrationException(
                string.Create(CultureInfo.InvariantCulture, $"calibration image '{image.Name}' is constant (every value {first}): it has no range and shows the network nothing; leave it out"), image.Name);
    }

    private void Pass(Int8Quantization quantization, bool histograms)
    {
        _histograms = histograms;
        foreach (var s in _observed.Values)
        {
            s.Count = 0;
            if (histograms) s.Histogram = new double[HistogramBins];
        }
        foreach (var image in quantization.Calibration)
        {
            _image = image.Name;
            ProbabilityMaps.Predict(image.Pixels, this, quantization.Prediction with { PostProcessing = null });
        }
    }

    public void Probabilities(ReadOnlySpan<float> inputs, int count, Span<float> probabilities)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = tensor(inputs.ToArray(), [count, InputChannels, InputSize, InputSize]);
        var outputs = _interpreter.Run(input, Observe);
        var p = outputs[OnnxExport.ProbabilitiesName].contiguous();
        p.data<float>().ToArray().AsSpan().CopyTo(probabilities);
    }

    private void Observe(string name, Tensor value)
    {
        using var scope = NewDisposeScope();
        if (!value.isfinite().all().item<bool>())
            throw new Int8CalibrationException($"activation '{name}' is NaN or infinite on calibration image '{_image}': the model cannot be calibrated (or run) on it", _image, name);
        if (!_observed.TryGetValue(name, out var s)) return;
        s.Count += value.numel();
        if (!_histograms)
        {
            s.Min = Math.Min(s.Min, value.min().item<float>());
            s.Max = Math.Max(s.Max, value.max().item<float>());
            return;
        }
        if (s.Max <= s.Min) return;
        using Scalar min = s.Min.ToScalar(), width = ((s.Max - s.Min) / HistogramBins).ToScalar();   // held until the call returns
        var bins = value.flatten().to(ScalarType.Float64).sub_(min).div_(width).floor_().clamp_(FirstBin, LastBin).to(ScalarType.Int64);
        var counts = bins.bincount(null, HistogramBins).to(ScalarType.Float64).data<double>();
        for (int i = 0; i < HistogramBins; i++) s.Histogram![i] += counts[i];
    }

    /// <summary>
    /// [lo, hi]: lo the lower edge of the first bin where more than (100 − p) % of the values lie at
    /// or below it, hi the upper edge of the last bin where more than (100 − p) % lie at or above.
    /// </summary>
    private static (float Lo, float Hi) Percentiles(Statistics s, double percentile)
    {
        if (s.Max <= s.Min) return ((float)s.Min, (float)s.Max);
        double allowed = (100 - percentile) / 100 * s.Count, width = (s.Max - s.Min) / HistogramBins;
        var h = s.Histogram!;
        double lo = s.Min, hi = s.Max, tail = 0;
        for (int b = HistogramBins - 1; b >= 0; b--)
        {
            tail += h[b];
            if (tail > allowed)
            {
                hi = s.Min + (b + 1) * width;
                break;
            }
        }
        tail = 0;
        for (int b = 0; b < HistogramBins; b++)
        {
            tail += h[b];
            if (tail > allowed)
            {
                lo = s.Min + b * width;
                break;
            }
        }
        return ((float)Math.Max(lo, s.Min), (float)Math.Min(hi, s.Max));
    }

    public void Dispose() => _interpreter.Dispose();
}
