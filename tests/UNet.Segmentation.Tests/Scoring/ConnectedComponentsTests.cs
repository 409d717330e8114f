using UNet.Segmentation.Scoring;

namespace UNet.Segmentation.Tests.Scoring;

public class ConnectedComponentsTests
{
    private static byte[] Mask(params string[] rows) =>
        string.Concat(rows).Select(c => c == '#' ? (byte)1 : (byte)0).ToArray();

    [Fact]
    public void FourConnected_NumberedInScanOrder_DiagonalsApart()
    {
        // The lone pixels at (1,2) and (2,3) touch the L-shape and each other only diagonally.
        var mask = Mask(
            "##..",
            "#.#.",
            "##.#");
        var labels = new int[mask.Length];
        int count = ConnectedComponents.Label(mask, 1, 3, 4, labels);
        Assert.Equal(3, count);
        Assert.Equal(new[]
        {
            1, 1, 0, 0,
            1, 0, 2, 0,
            1, 1, 0, 3,
        }, labels);
    }

    [Fact]
    public void PagesNeverShareALabel()
    {
        // The same page twice: its one component is a new label on the second page, not label 1 again.
        var page = Mask("##", "#.");
        byte[] mask = [.. page, .. page];
        var labels = new int[mask.Length];
        Assert.Equal(2, ConnectedComponents.Label(mask, 2, 2, 2, labels));
        Assert.Equal(new[] { 1, 1, 1, 0, 2, 2, 2, 0 }, labels);
    }

    [Fact]
    public void APageWideSnake_IsOneComponent_WithoutRecursion()
    {
        // Full rows joined by one pixel at alternating ends: one component of about half of a
        // 512×512 page, a path over 130,000 pixels long (a recursive fill would overflow the stack).
        const int size = 512;
        var mask = new byte[size * size];
        int expected = 0;
        for (int y = 0; y < size; y++)
        {
            if (y % 2 == 0)
            {
                for (int x = 0; x < size; x++) mask[y * size + x] = 1;
                expected += size;
            }
            else
            {
                mask[y * size + (y % 4 == 1 ? size - 1 : 0)] = 1;
                expected++;
            }
        }
        var labels = new int[mask.Length];
        Assert.Equal(1, ConnectedComponents.Label(mask, 1, size, size, labels));
        Assert.Equal(expected, labels.Count(l => l == 1));
        Assert.True(mask.Zip(labels).All(pair => pair.First == pair.Second), "every foreground pixel is labelled 1, every other 0");
    }

    [Fact]
    public void SizesMustMatch()
    {
        var labels = new int[6];
        Assert.Equal("foreground", Assert.Throws<ArgumentException>(() => ConnectedComponents.Label(new byte[5], 1, 2, 3, labels)).ParamName);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => ConnectedComponents.Label(new byte[6], 1, 2, 3, new int[5])).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => ConnectedComponents.Label(new byte[6], 0, 2, 3, labels));
    }
}
