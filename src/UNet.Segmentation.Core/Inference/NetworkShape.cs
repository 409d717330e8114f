namespace UNet.Segmentation.Inference;

/// <summary>The checks every array prediction path makes of a network and its images.</summary>
internal static class NetworkShape
{
    public static (int Input, int Output, int Classes) Check(ISegmentationNetwork network, FloatImages images, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int input = network.InputSize, output = network.OutputSize, classes = network.Classes;
        if (output < 1 || input < output || (input - output) % 2 != 0)
            throw new ArgumentException($"the network's input size ({input}) must exceed its output size ({output}) by an even margin", nameof(network));
        if (classes < 1) throw new ArgumentException($"the network has {classes} classes", nameof(network));
        if (images.Channels != network.InputChannels)
            throw new ArgumentException($"the network takes {network.InputChannels} channel(s); the images have {images.Channels}", nameof(images));
        return (input, output, classes);
    }
}
