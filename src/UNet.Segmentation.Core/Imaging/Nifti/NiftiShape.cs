namespace UNet.Segmentation.Imaging.Nifti;

/// <summary>The checks on a header's <c>dim</c> that the reader, the image and the writer share.</summary>
internal static class NiftiShape
{
    /// <summary>
    /// The sizes <c>dim[1..dim[0]]</c> when <c>dim[0]</c> is 1 to 4, each size is at least 1 and
    /// their product fits one .NET array; otherwise throws what <paramref name="error"/> makes.
    /// </summary>
    public static int[] Check(long[] dim, Func<string, Exception> error)
    {
        long rank = dim[0];
        if (rank is < 1 or > 4)
            throw error(rank is < 1
                ? $"dim[0] is {rank}: an image needs 1 to 4 dimensions"
                : $"dim[0] is {rank}: images of more than 4 dimensions (x, y, z, t or channels) are not supported");
        var shape = new int[rank];
        long voxels = 1;
        for (int i = 1; i <= rank; i++)
        {
            long size = dim[i];
            if (size < 1) throw error($"dim[{i}] is {size}: every dimension needs at least 1 voxel");
            if (size > Array.MaxLength || voxels > Array.MaxLength / size)
                throw error($"dim is {Describe(dim)}: more voxels than one array can hold ({Array.MaxLength})");
            voxels *= size;
            shape[i - 1] = (int)size;
        }
        return shape;
    }

    /// <summary>"[3: 64, 64, 30]": the rank and the sizes, for messages.</summary>
    public static string Describe(long[] dim) =>
        $"[{dim[0]}: {string.Join(", ", dim.Skip(1).Take((int)Math.Clamp(dim[0], 0, 7)))}]";
}
