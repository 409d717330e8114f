using System.Runtime.InteropServices;
using System.Text.Json;
using UNet.Segmentation.Imaging.Nifti;
using static UNet.Segmentation.Tests.Imaging.Nifti.NiftiTestFiles;

namespace UNet.Segmentation.Tests.Imaging.Nifti;

/// <summary>
/// nibabel as the oracle: it reads every variant we write (voxels bit for bit, every header
/// field, the affines), we read every variant it writes (NIfTI-1 and NIfTI-2, plain and gzipped,
/// every type, 3-D and 4-D, big-endian, scaled, qform only, neither transform, extensions), and its
/// files read and written by us keep every field it sees.
/// </summary>
public class NiftiNibabelOracleTests(ITestOutputHelper output)
{
    [Fact]
    public void NibabelReads_EveryVariantWeWrite()
    {
        NiftiOracle.Require();
        using var dir = new TempDir();
        var images = new Dictionary<string, NiftiImage>();
        int seed = 0;
        foreach (var version in Enum.GetValues<NiftiVersion>())
            foreach (bool gzip in new[] { false, true })
                foreach (var type in Types)
                {
                    int[] shape = seed % 2 == 0 ? [5, 4, 3] : [5, 4, 3, 2];
                    var header = seed % 3 == 0 ? PlainHeader(version, shape) : RichHeader(version, shape);
                    images[$"ours{(int)version}-{type}-{shape.Length}d.nii" + (gzip ? ".gz" : "")] =
                        new NiftiImage(header, Voxels(type, shape.Aggregate(1, (p, s) => p * s), seed++));
                }
        foreach (var version in Enum.GetValues<NiftiVersion>())
        {
            var scaled = PlainHeader(version, 6, 5, 4, 3);
            (scaled.SclSlope, scaled.SclInter) = (2.5, -10);
            images[$"ours{(int)version}-scaled.nii"] = new NiftiImage(scaled, Voxels(NiftiDataType.Int16, 360, seed++));
            var qformOnly = RichHeader(version, 7, 3, 4);
            qformOnly.SformCode = 0;
            images[$"ours{(int)version}-qform-only.nii.gz"] = new NiftiImage(qformOnly, Voxels(NiftiDataType.UInt16, 84, seed++));
            var sformOnly = RichHeader(version, 7, 3, 4);
            sformOnly.QformCode = 0;
            images[$"ours{(int)version}-sform-only.nii"] = new NiftiImage(sformOnly, Voxels(NiftiDataType.Float32, 84, seed++));
            var neither = PlainHeader(version, 5, 6, 7);
            double[] zooms = [1, 0.7, 0.8, 2.2];
            zooms.CopyTo(neither.PixDim, 0);
            images[$"ours{(int)version}-no-xform.nii"] = new NiftiImage(neither, Voxels(NiftiDataType.UInt8, 210, seed++));
        }
        foreach (var (name, image) in images) NiftiFile.Write(dir.File(name), image);

        var described = NiftiOracle.Describe(images.Keys.Select(dir.File));
        Assert.Equal(images.Count, described.Length);
        var failures = new List<string>();
        foreach (var entry in described)
        {
            string name = entry.GetProperty("file").GetString()!;
            var image = images[name];
            var h = image.Header;
            long offset = h.Version == NiftiVersion.Nifti1 ? 352 : 544;
            var expected = Fields(h, offset);
            foreach (var difference in Differences(expected, FromJson(entry.GetProperty("header"), expected))) failures.Add($"{name}: {difference}");
            Check(failures, name, (int)h.Version == entry.GetProperty("version").GetInt32() && !entry.GetProperty("big_endian").GetBoolean(), "version or byte order");
            Check(failures, name, image.Shape.SequenceEqual(entry.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32())), "shape");
            Check(failures, name, entry.GetProperty("extensions").GetInt32() == 0, "extensions");
            Check(failures, name, Bytes(image.Data).SequenceEqual(File.ReadAllBytes(dir.File(name + ".raw"))), "voxels differ from nibabel's");
            CheckScaled(failures, name, image, dir.File(name + ".f64"));
            CheckAffines(failures, name, NiftiFile.ReadHeader(dir.File(name)), entry); // as stored: NIfTI-1 narrows to float
        }
        output.WriteLine($"{described.Length} files of ours read by nibabel");
        Assert.True(failures.Count == 0, $"{failures.Count} differences:\n" + string.Join("\n", failures.Take(30)));
    }

    [Fact]
    public void WeRead_EveryVariantNibabelWrites()
    {
        NiftiOracle.Require();
        using var dir = new TempDir();
        var described = NiftiOracle.Make(dir.Path);
        Assert.True(described.Length >= 45, $"nibabel wrote {described.Length} variants");
        var failures = new List<string>();
        var seen = new HashSet<string>();
        foreach (var entry in described)
        {
            string name = entry.GetProperty("file").GetString()!;
            var image = NiftiFile.Read(dir.File(name));
            var h = image.Header;
            var actual = Fields(h, h.VoxOffset);
            foreach (var difference in Differences(FromJson(entry.GetProperty("header"), actual), actual)) failures.Add($"{name}: {difference}");
            Check(failures, name, (int)h.Version == entry.GetProperty("version").GetInt32(), "version");
            Check(failures, name, h.WasBigEndian == entry.GetProperty("big_endian").GetBoolean(), "byte order");
            Check(failures, name, image.Shape.SequenceEqual(entry.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32())), "shape");
            Check(failures, name, Bytes(image.Data).SequenceEqual(File.ReadAllBytes(dir.File(name + ".raw"))), "voxels differ from nibabel's");
            CheckScaled(failures, name, image, dir.File(name + ".f64"));
            CheckAffines(failures, name, h, entry);
            seen.Add($"v{(int)h.Version} {h.DataType}{(h.WasBigEndian ? " big-endian" : "")}{(name.EndsWith(".gz") ? " gz" : "")}{(h.VoxOffset > (h.Version == NiftiVersion.Nifti1 ? 352 : 544) ? " extension" : "")}{(image.IsScaled ? " scaled" : "")} {image.Shape.Length}-D sform {h.SformCode} qform {h.QformCode}");
        }
        output.WriteLine($"{described.Length} files of nibabel's read: {string.Join("; ", seen.Order())}");
        Assert.True(failures.Count == 0, $"{failures.Count} differences:\n" + string.Join("\n", failures.Take(30)));
    }

    [Fact]
    public void NibabelsFiles_ReadAndWrittenByUs_KeepEveryFieldNibabelSees()
    {
        NiftiOracle.Require();
        using var dir = new TempDir();
        var theirs = NiftiOracle.Make(dir.Path).ToDictionary(e => e.GetProperty("file").GetString()!);
        foreach (var name in theirs.Keys) NiftiFile.Write(dir.File("ours-" + name), NiftiFile.Read(dir.File(name)));
        var ours = NiftiOracle.Describe(theirs.Keys.Select(n => dir.File("ours-" + n)));
        var failures = new List<string>();
        foreach (var entry in ours)
        {
            string name = entry.GetProperty("file").GetString()!, original = name["ours-".Length..];
            var before = theirs[original].GetProperty("header").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetRawText());
            var after = entry.GetProperty("header").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetRawText());
            bool v1 = before["sizeof_hdr"] == "348";
            foreach (var key in before.Keys.Union(after.Keys))
            {
                if (key == "vox_offset")
                {
                    Check(failures, name, after[key] == (v1 ? "\"352.0\"" : "544"), $"vox_offset {after[key]}");
                    continue;
                }
                if (before.GetValueOrDefault(key) != after.GetValueOrDefault(key)) failures.Add($"{name}: {key} was {before.GetValueOrDefault(key)}, is {after.GetValueOrDefault(key)}");
            }
            Check(failures, name, !entry.GetProperty("big_endian").GetBoolean() && entry.GetProperty("extensions").GetInt32() == 0, "written little-endian, without extensions");
            Check(failures, name, File.ReadAllBytes(dir.File(name + ".raw")).SequenceEqual(File.ReadAllBytes(dir.File(original + ".raw"))), "voxels changed");
            Check(failures, name, entry.GetProperty("affine").GetRawText() == theirs[original].GetProperty("affine").GetRawText(), "affine changed");
        }
        output.WriteLine($"{ours.Length} of nibabel's files written again by us");
        Assert.True(failures.Count == 0, $"{failures.Count} differences:\n" + string.Join("\n", failures.Take(30)));
    }

    /// <summary>A header as a program that sets only the basics would write it: no transform, no text, unit voxels.</summary>
    private static NiftiHeader PlainHeader(NiftiVersion version, params int[] shape)
    {
        var h = new NiftiHeader { Version = version };
        h.SetShape(shape);
        return h;
    }

    private static void Check(List<string> failures, string name, bool ok, string what)
    {
        if (!ok) failures.Add($"{name}: {what}");
    }

    /// <summary>Our scaled values against nibabel's get_fdata(), which may scale integers in float32: equal within a float's precision, NaN where NaN.</summary>
    private static void CheckScaled(List<string> failures, string name, NiftiImage image, string f64)
    {
        var theirs = MemoryMarshal.Cast<byte, double>(File.ReadAllBytes(f64)).ToArray();
        var ours = image.ToScaledFloat64();
        if (theirs.Length != ours.Length)
        {
            failures.Add($"{name}: {theirs.Length} scaled values from nibabel, {ours.Length} from us");
            return;
        }
        for (int i = 0; i < ours.Length; i++)
        {
            double a = ours[i], b = theirs[i];
            bool same = double.IsNaN(a) ? double.IsNaN(b) : a == b || Math.Abs(a - b) <= 1e-6 * Math.Max(1, Math.Abs(a));
            if (!same)
            {
                failures.Add($"{name}: scaled voxel {i} is {a} here, {b} in nibabel (raw {image.Data.GetValue(i)}, slope {image.Header.SclSlope}, inter {image.Header.SclInter})");
                return;
            }
        }
    }

    /// <summary>
    /// Our affines against nibabel's: the sform exactly, the qform within float precision (nibabel
    /// computes the quaternion's a in the header's float32), the best one likewise; with both codes
    /// 0 nibabel centres the volume, so ours is checked against the specification's pixdim
    /// scaling instead.
    /// </summary>
    private static void CheckAffines(List<string> failures, string name, NiftiHeader h, JsonElement entry)
    {
        if (entry.GetProperty("sform").ValueKind != JsonValueKind.Null) CompareMatrix(failures, name, "sform", NiftiAffine.FromSform(h), entry.GetProperty("sform"), 0);
        if (entry.GetProperty("qform").ValueKind != JsonValueKind.Null) CompareMatrix(failures, name, "qform", NiftiAffine.FromQform(h), entry.GetProperty("qform"), 1e-5);
        if (h.SformCode > 0 || h.QformCode > 0)
        {
            CompareMatrix(failures, name, "affine", NiftiAffine.Best(h), entry.GetProperty("affine"), 1e-5);
            return;
        }
        var expected = new double[4, 4];
        for (int i = 0; i < 3; i++) expected[i, i] = h.PixDim[i + 1] == 0 ? 1 : h.PixDim[i + 1];
        expected[3, 3] = 1;
        if (!NiftiAffine.Best(h).Cast<double>().SequenceEqual(expected.Cast<double>())) failures.Add($"{name}: the pixdim affine is not diag(pixdim[1..3], 1)");
    }

    private static void CompareMatrix(List<string> failures, string name, string what, double[,] ours, JsonElement theirs, double tolerance)
    {
        var rows = theirs.EnumerateArray().Select(r => r.EnumerateArray().Select(e => ParseDouble(e.GetString()!)).ToArray()).ToArray();
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++)
                if (!(Math.Abs(ours[r, c] - rows[r][c]) <= tolerance * Math.Max(1, Math.Abs(rows[r][c]))))
                {
                    failures.Add($"{name}: {what}[{r},{c}] is {ours[r, c]} here, {rows[r][c]} in nibabel");
                    return;
                }
    }
}
