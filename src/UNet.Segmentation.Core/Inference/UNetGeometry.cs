namespace UNet.Segmentation.Inference;

/// <summary>
/// The sizes a U-Net of a given depth accepts and returns: every 3×3 convolution loses 2 pixels
/// with valid padding (none with 'same'), every 2×2 pooling halves (the size must be even), every
/// up-sampling doubles. Shared by <c>UNetOptions</c> and the ONNX predictor, which knows its model
/// only from the file's metadata.
/// </summary>
public static class UNetGeometry
{
    /// <summary>The output side for an input side, or false when the input does not fit the network.</summary>
    /// <param name="inputSize">The input's height or width.</param>
    /// <param name="depth">Poolings (4 for the reference), 1..8.</param>
    /// <param name="validPadding">Valid convolutions (the reference) rather than 'same' ones.</param>
    /// <param name="output">The output side when it fits.</param>
    public static bool TryOutputSize(int inputSize, int depth, bool validPadding, out int output)
    {
        output = 0;
        if (inputSize < 1 || depth < 1 || depth > 8) return false;
        int loss = validPadding ? 4 : 0;
        long s = inputSize;
        for (int level = 0; level < depth; level++)
        {
            s -= loss;
            if (s < 2 || s % 2 != 0) return false;
            s /= 2;
        }
        s -= loss;
        if (s < 1) return false;
        for (int level = 0; level < depth; level++)
        {
            s = 2 * s - loss;
            if (s < 1) return false;
        }
        output = (int)s;
        return true;
    }

    /// <summary>The input sides from <paramref name="min"/> to <paramref name="max"/> the network accepts, ascending.</summary>
    public static IEnumerable<int> ValidInputSizes(int depth, bool validPadding, int min = 1, int max = 1024)
    {
        for (int s = Math.Max(1, min); s <= max; s++)
            if (TryOutputSize(s, depth, validPadding, out _)) yield return s;
    }

    /// <summary>The nearest accepted input sides below and above <paramref name="size"/> (within 4,096), for messages.</summary>
    public static IEnumerable<int> NearestValidInputSizes(int size, int depth, bool validPadding)
    {
        int? below = null, above = null;
        for (int s = size - 1; s >= 1 && below is null && s > size - 4096; s--) if (TryOutputSize(s, depth, validPadding, out _)) below = s;
        for (int s = size + 1; above is null && s < size + 4096; s++) if (TryOutputSize(s, depth, validPadding, out _)) above = s;
        return new[] { below, above }.Where(v => v.HasValue).Select(v => v!.Value);
    }
}
