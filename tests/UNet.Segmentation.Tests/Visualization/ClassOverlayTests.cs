using UNet.Segmentation.Visualization;

namespace UNet.Segmentation.Tests.Visualization;

public sealed class ClassOverlayTests
{
    [Fact]
    public void BackgroundStaysAsItIs_AndEachOtherClassIsTintedWithItsColour_GreyOrRgb()
    {
        byte[] grey = [100, 100, 100, 100];
        byte[] classes = [0, 1, 2, 11];
        var rgb = Overlays.BlendClasses(grey, 1, classes);
        Assert.Equal(new byte[] { 100, 100, 100 }, rgb[..3]);
        var (r, g, b) = Overlays.ClassColours[0];
        Assert.Equal(new[] { (byte)((100 + r) / 2), (byte)((100 + g) / 2), (byte)((100 + b) / 2) }, rgb[3..6]);
        Assert.NotEqual(rgb[3..6], rgb[6..9]);
        Assert.Equal(rgb[3..6], rgb[9..12]); // class 11 wraps round to class 1's colour (10 colours)

        byte[] colour = [10, 20, 30, 40, 50, 60];
        var fromRgb = Overlays.BlendClasses(colour, 3, [0, 0]);
        Assert.Equal(colour, fromRgb);
        Assert.Throws<ArgumentException>(() => Overlays.BlendClasses(colour, 3, [0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Overlays.BlendClasses(colour, 2, [0, 0, 0]));
    }
}
