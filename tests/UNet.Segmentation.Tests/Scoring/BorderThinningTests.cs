using UNet.Segmentation.Scoring;

namespace UNet.Segmentation.Tests.Scoring;

/// <summary>
/// The border thinning of the challenge's official scores (Fiji's WatershedTransform2D, 4-connected,
/// on the binarized prediction), worked by hand. Pictures: '#' predicted interior, '.' predicted
/// membrane; results: a letter per segment (named in order of first appearance, row by row) and
/// '.' for a dam. The rules used below: basins are the interior's 4-components; membrane pixels
/// next to a basin are queued column by column (x outer, y inner); each taken pixel looks left,
/// up, right, down: a labelled neighbour labels it (or makes it a dam if it has another label),
/// a dam neighbour makes a still unlabelled pixel a dam that a later label overturns, and an
/// untouched membrane neighbour is queued behind.
/// </summary>
public class BorderThinningTests
{
    private static string Thin(params string[] rows)
    {
        int height = rows.Length, width = rows[0].Length;
        var interior = string.Concat(rows).Select(c => c == '#' ? (byte)1 : (byte)0).ToArray();
        var labels = new int[interior.Length];
        new BorderThinning(height, width).Thin(interior, labels);
        var names = new Dictionary<int, char>();
        var text = labels.Select(l => l == 0 ? '.' : names.TryGetValue(l, out char c) ? c : names[l] = (char)('A' + names.Count)).ToArray();
        return string.Join("/", Enumerable.Range(0, height).Select(y => new string(text, y * width, width)));
    }

    [Fact]
    public void AnOddMembrane_ThinsToItsMiddlePixel()
    {
        // x1 (left of it A) and x3 (right of it B) are queued, x2 touches no basin. x1: A; x3: B,
        // queuing nothing (x2 is queued by x1 already); x2: left A, right B → dam.
        Assert.Equal("AA.BB", Thin("#...#"));
        // Five wide: x1 → A queues x2, x5 → B queues x4, x2 → A queues x3, x4 → B, x3 between A and B → dam.
        Assert.Equal("AAA.BBB", Thin("#.....#"));
    }

    [Fact]
    public void AnEvenMembrane_PutsTheDamOnThePixelQueuedLater()
    {
        // Row: x1 (queued first, column 1) takes A from the left; x2 sees A on its left, then B → dam.
        Assert.Equal("AA.B", Thin("#..#"));
        // Column: y1 takes A from above (up comes before down); y2 sees A above, B below → dam.
        Assert.Equal("A/A/./B", Thin("#", ".", ".", "#"));
    }

    [Fact]
    public void ADamNeighbour_MakesADamThatALaterLabelOverturns()
    {
        // #..     A = (0,0); B = {(1,1), (2,1)}, as (x,y). Queued column by column: (0,1) (A above),
        // .##     (1,0) (A left), (2,0) (B below).
        // (0,1): up A, right B → dam. (1,0): left A, down B → dam.
        // (2,0): left (1,0) is a dam → dam so far; down B overturns it → B.
        Assert.Equal("A.B/.BB", Thin("#..", ".##"));
    }

    [Fact]
    public void ADamNeighbourAlone_LeavesADam()
    {
        // #.#     basins A (0,0), B (2,0), C (1,1), D (0,2) as (x,y). Queued: (0,1), (1,0), (1,2),
        // .#.     (2,1); (2,2) touches no basin. (0,1): A then C → dam. (1,0): A then B → dam.
        // #..     (1,2): D (left), C (up) → dam; queues (2,2). (2,1): C (left), B (up) → dam.
        //         (2,2): left (1,2) a dam → dam; up (2,1) a dam → no change: a dam with no label.
        Assert.Equal("A.B/.C./D..", Thin("#.#", ".#.", "#.."));
    }

    [Fact]
    public void MembraneTouchingOneBasin_JoinsIt()
    {
        // Nothing to separate: every membrane pixel is flooded from A.
        Assert.Equal("AAA/AAA", Thin("#..", "..."));
        // A closed ring of membrane inside one basin vanishes into it.
        Assert.Equal("AAA/AAA/AAA", Thin("###", "#.#", "###"));
    }

    [Fact]
    public void NoInterior_IsOneSegment_AndNoMembrane_IsTheComponents()
    {
        // No basin floods the page: its membrane is a new minimum, one segment, no dams.
        Assert.Equal("AAA/AAA", Thin("...", "..."));
        Assert.Equal("AAA/AAA", Thin("###", "###"));
    }

    [Fact]
    public void FourConnectivity_DiagonalBasinsStaySeparate()
    {
        // #.      A and B touch only at a corner: two basins. (1,0): left A, down B → dam;
        // .#      (0,1): up A, right B → dam.
        Assert.Equal("A./.B", Thin("#.", ".#"));
    }

    [Fact]
    public void ThinningReusesItsBuffers_PageAfterPage()
    {
        var thinning = new BorderThinning(1, 5);
        var labels = new int[5];
        thinning.Thin(new byte[] { 1, 0, 0, 0, 1 }, labels);
        Assert.Equal(new[] { 1, 1, 0, 2, 2 }, labels);
        Assert.Equal(1, thinning.Thin(new byte[] { 0, 0, 0, 0, 0 }, labels));
        Assert.Equal(new[] { 1, 1, 1, 1, 1 }, labels);
        Assert.Throws<ArgumentException>(() => thinning.Thin(new byte[4], labels));
    }
}
