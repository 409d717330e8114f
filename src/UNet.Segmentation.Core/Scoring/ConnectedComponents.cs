namespace UNet.Segmentation.Scoring;

/// <summary>
/// 4-connected component labelling of a stack of binary pages, page by page: a pixel's neighbours
/// are the pixels above, below, left and right of it in the same page (never diagonal ones, never
/// across pages). Used by <see cref="ChallengeScores"/> for both the ground truth and each
/// thresholded prediction.
/// </summary>
/// <remarks>
/// A flood fill with an explicit stack (no recursion, so a page-sized component cannot overflow
/// the call stack): a pixel is labelled when it is pushed, so each is pushed at most once and the
/// stack never holds more than one page's pixels.
/// </remarks>
internal static class ConnectedComponents
{
    /// <summary>
    /// Labels the components of the pixels where <paramref name="foreground"/> is non-zero.
    /// Background pixels get 0; components get 1, 2, … in the order their first pixel appears
    /// (page-major, then row-major), numbered on across pages so that components of different
    /// pages never share a label.
    /// </summary>
    /// <param name="foreground">pages × height × width flags, page-major then row-major; non-zero = foreground.</param>
    /// <param name="pages">Number of pages.</param>
    /// <param name="height">Rows per page.</param>
    /// <param name="width">Columns per page.</param>
    /// <param name="labels">Receives one label per pixel; as long as <paramref name="foreground"/>.</param>
    /// <returns>The number of components (the largest label).</returns>
    public static int Label(ReadOnlySpan<byte> foreground, int pages, int height, int width, Span<int> labels) =>
        Label(foreground, pages, height, width, labels, default);

    /// <summary>As <see cref="Label(ReadOnlySpan{byte}, int, int, int, Span{int})"/>, with a caller-owned stack to reuse across calls (one page's pixels long; a shorter one is replaced by a new array).</summary>
    public static int Label(ReadOnlySpan<byte> foreground, int pages, int height, int width, Span<int> labels, Span<int> stack)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pages, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        int pageSize = checked(height * width);
        if ((long)pages * pageSize != foreground.Length)
            throw new ArgumentException($"{foreground.Length} flags for {pages} page(s) of {height}x{width}", nameof(foreground));
        if (labels.Length != foreground.Length)
            throw new ArgumentException($"{labels.Length} labels for {foreground.Length} pixels", nameof(labels));

        if (stack.Length < pageSize) stack = new int[pageSize];

        labels.Clear();
        int count = 0;
        for (int page = 0; page < pages; page++)
        {
            int start = page * pageSize;
            ReadOnlySpan<byte> mask = foreground.Slice(start, pageSize);
            Span<int> pageLabels = labels.Slice(start, pageSize);
            for (int seed = 0; seed < pageSize; seed++)
            {
                if (mask[seed] == 0 || pageLabels[seed] != 0) continue;
                int label = ++count;
                pageLabels[seed] = label;
                int top = 0;
                stack[top++] = seed;
                while (top > 0)
                {
                    int p = stack[--top];
                    int x = p % width;
                    if (x > 0 && mask[p - 1] != 0 && pageLabels[p - 1] == 0) { pageLabels[p - 1] = label; stack[top++] = p - 1; }
                    if (x < width - 1 && mask[p + 1] != 0 && pageLabels[p + 1] == 0) { pageLabels[p + 1] = label; stack[top++] = p + 1; }
                    if (p >= width && mask[p - width] != 0 && pageLabels[p - width] == 0) { pageLabels[p - width] = label; stack[top++] = p - width; }
                    if (p + width < pageSize && mask[p + width] != 0 && pageLabels[p + width] == 0) { pageLabels[p + width] = label; stack[top++] = p + width; }
                }
            }
        }
        return count;
    }
}
