namespace UNet.Segmentation.Inference;

/// <summary>
/// Where sliding windows start along one axis, by the rule of MONAI's
/// <c>sliding_window_inference</c> (which NVIDIA's nnUNet calls): the step is
/// ⌊window·(1 − overlap)⌋ (at least 1), there are ⌈(size − window)/step⌉ + 1 windows, and a window
/// that would reach past the end is moved back to end at it. An axis no longer than the window
/// has the single start 0 (the caller pads it to the window first).
/// </summary>
public static class WindowGrid
{
    /// <summary>The window starts along an axis of <paramref name="size"/>, ascending and distinct; they cover every voxel.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size below 1, or an overlap outside [0, 1).</exception>
    public static int[] Starts(int size, int window, double overlap)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        if (!(overlap >= 0 && overlap < 1)) throw new ArgumentOutOfRangeException(nameof(overlap), overlap, "the overlap must be in [0, 1)");
        if (size <= window) return [0];
        int step = Math.Max(1, (int)(window * (1 - overlap)));
        int count = (size - window + step - 1) / step + 1;
        return Enumerable.Range(0, count).Select(i => Math.Min(i * step, size - window)).Distinct().ToArray();
    }

    /// <summary>Every window's start, one array per window (the last axis varying fastest).</summary>
    public static IReadOnlyList<int[]> AllStarts(IReadOnlyList<int> sizes, IReadOnlyList<int> window, double overlap)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        ArgumentNullException.ThrowIfNull(window);
        if (sizes.Count != window.Count) throw new ArgumentException($"{sizes.Count} sizes for a window of {window.Count} dimensions", nameof(window));
        IEnumerable<int[]> result = [[]];
        for (int d = 0; d < sizes.Count; d++)
        {
            var starts = Starts(sizes[d], window[d], overlap);
            result = result.SelectMany(prefix => starts.Select(s => (int[])[.. prefix, s]));
        }
        return result.ToList();
    }
}
