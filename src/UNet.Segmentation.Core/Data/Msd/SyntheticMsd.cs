using System.Globalization;
using System.Text.Json;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Imaging.Nifti;

namespace UNet.Segmentation.Data.Msd;

/// <summary>
/// Writes a synthetic task in the Medical Segmentation Decathlon's layout: <c>dataset.json</c>,
/// <c>imagesTr/*.nii.gz</c>, <c>labelsTr/*.nii.gz</c>, <c>imagesTs/*.nii.gz</c>. The default is
/// BraTS-like (Task01): 4-D float32 images of 4 MRI modalities, a non-zero ellipsoidal "brain"
/// with a smooth tissue gradient in a zero background, and a perturbed-ellipsoid tumour of three
/// nested regions (edema ⊃ non-enhancing ⊃ enhancing, labels 1, 2, 3), each modality with its
/// own intensity per region plus Gaussian noise. Shapes are defined in millimetres, so an
/// anisotropic spacing gives the same anatomy with fewer slices. Deterministic from the seed.
/// </summary>
public static class SyntheticMsd
{
    /// <summary>The modalities of the MRI variant, as Task01's dataset.json names them.</summary>
    public static IReadOnlyList<string> MriModalities { get; } = ["FLAIR", "T1w", "t1gd", "T2w"];

    /// <summary>The labels of the MRI variant, as Task01's dataset.json names them.</summary>
    public static IReadOnlyList<string> MriLabels { get; } = ["background", "edema", "non-enhancing tumor", "enhancing tumour"];

    /// <summary>The labels of the CT variant, as Task03's dataset.json names them.</summary>
    public static IReadOnlyList<string> CtLabels { get; } = ["background", "liver", "cancer"];

    // Mean intensity per modality (rows) and region (background brain, edema, non-enhancing, enhancing).
    private static readonly double[,] MriMeans =
    {
        { 420, 900, 640, 720 },   // FLAIR: edema bright
        { 520, 430, 300, 360 },   // T1w: tumour dark
        { 500, 470, 320, 1050 },  // t1gd: enhancing bright
        { 400, 860, 720, 600 },   // T2w: edema bright
    };

    private static readonly double[] CtMeans = [30, 95, 55]; // body, liver, cancer (air: −1000)

    /// <summary>Writes the task into <paramref name="folder"/> (created when missing; files of the same names replaced).</summary>
    /// <returns>The task, loaded back.</returns>
    public static MsdTask Generate(string folder, SyntheticMsdOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        string prefix = options.Ct ? "LIVER" : "BRATS";
        foreach (string sub in new[] { "imagesTr", "labelsTr", "imagesTs" }) Directory.CreateDirectory(Path.Combine(folder, sub));
        var training = new List<string>();
        var test = new List<string>();
        int total = options.TrainingCases + options.TestCases;
        for (int i = 0; i < total; i++)
        {
            bool isTest = i >= options.TrainingCases;
            string name = $"{prefix}_{i + 1:000}.nii.gz";
            var (image, labels, spacing) = MakeCase(options, i);
            var s = options.Size;
            var nifti = options.Ct ? NiftiImage.Create(image, s.Width, s.Height, s.Depth) : NiftiImage.Create(image, s.Width, s.Height, s.Depth, MriModalities.Count);
            Describe(nifti.Header, spacing, s);
            NiftiFile.Write(Path.Combine(folder, isTest ? "imagesTs" : "imagesTr", name), nifti);
            if (isTest)
            {
                test.Add("./imagesTs/" + name);
                continue;
            }
            var label = NiftiImage.Create(labels, s.Width, s.Height, s.Depth);
            Describe(label.Header, spacing, s);
            NiftiFile.Write(Path.Combine(folder, "labelsTr", name), label);
            training.Add(name);
        }
        WriteDatasetJson(folder, options, training, test);
        return MsdTask.Load(folder);
    }

    private static void Describe(NiftiHeader header, double[] spacing, Shape3D size)
    {
        header.PixDim[1] = spacing[2];
        header.PixDim[2] = spacing[1];
        header.PixDim[3] = spacing[0];
        header.XyztUnits = 2; // millimetres
        var affine = new double[4, 4];
        affine[0, 0] = spacing[2];
        affine[1, 1] = spacing[1];
        affine[2, 2] = spacing[0];
        affine[0, 3] = -spacing[2] * size.Width / 2;
        affine[1, 3] = -spacing[1] * size.Height / 2;
        affine[2, 3] = -spacing[0] * size.Depth / 2;
        affine[3, 3] = 1;
        header.SetSform(affine, 1);
    }

    private static void WriteDatasetJson(string folder, SyntheticMsdOptions options, List<string> training, List<string> test)
    {
        using var file = AtomicFile.Begin(Path.Combine(folder, "dataset.json"));
        using (var json = new Utf8JsonWriter(file.Stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("name", options.Ct ? "LiverSynthetic" : "BRATS");
            json.WriteString("description", "Synthetic MSD-layout task written by UNet.Segmentation's SyntheticMsd (not real data)");
            json.WriteString("tensorImageSize", options.Ct ? "3D" : "4D");
            json.WriteString("licence", "generated");
            json.WriteString("release", $"seed {options.Seed.ToString(CultureInfo.InvariantCulture)}");
            json.WriteStartObject("modality");
            var modalities = options.Ct ? ["CT"] : MriModalities;
            for (int m = 0; m < modalities.Count; m++) json.WriteString(m.ToString(CultureInfo.InvariantCulture), modalities[m]);
            json.WriteEndObject();
            json.WriteStartObject("labels");
            var labels = options.Ct ? CtLabels : MriLabels;
            for (int l = 0; l < labels.Count; l++) json.WriteString(l.ToString(CultureInfo.InvariantCulture), labels[l]);
            json.WriteEndObject();
            json.WriteNumber("numTraining", training.Count);
            json.WriteNumber("numTest", test.Count);
            json.WriteStartArray("training");
            foreach (string name in training)
            {
                json.WriteStartObject();
                json.WriteString("image", "./imagesTr/" + name);
                json.WriteString("label", "./labelsTr/" + name);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartArray("test");
            foreach (string path in test) json.WriteStringValue(path);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        file.Commit();
    }

    /// <summary>One case: the image (C×D×H×W), its labels and its spacing (z, y, x).</summary>
    private static (float[] Image, byte[] Labels, double[] Spacing) MakeCase(SyntheticMsdOptions options, int index)
    {
        var random = new Random(unchecked(options.Seed * 1_000_003 + index * 7919 + 17));
        var spacing = new double[3];
        for (int a = 0; a < 3; a++)
            spacing[a] = Math.Round(options.Spacing[a] * (1 + options.SpacingJitter * (2 * random.NextDouble() - 1)), 2);
        var s = options.Size;
        double[] extent = [s.Depth * options.Spacing[0], s.Height * options.Spacing[1], s.Width * options.Spacing[2]];
        // The organ ("brain" or body-with-liver) and the nested tumour, in millimetres from the volume's corner.
        var organ = Blob.Make(random, extent, centreSpread: 0.05, radius: (0.30, 0.38));
        double smallest = Math.Min(organ.Radii[0], Math.Min(organ.Radii[1], organ.Radii[2]));
        var tumourCentre = new double[3];
        for (int a = 0; a < 3; a++) tumourCentre[a] = organ.Centre[a] + (2 * random.NextDouble() - 1) * 0.3 * organ.Radii[a];
        double r1 = smallest * (0.40 + 0.10 * random.NextDouble());
        var regions = new[] { 1.0, 0.62, 0.36 }.Select(f => Blob.Around(random, tumourCentre, r1 * f)).ToArray();
        // CT: the body is a larger blob, the liver the organ, the cancer the tumour's core.
        var body = Blob.Make(random, extent, centreSpread: 0.02, radius: (0.42, 0.46));

        int channels = options.Ct ? 1 : MriModalities.Count;
        var image = new float[channels * s.Voxels];
        var labels = new byte[s.Voxels];
        int i = 0;
        for (int z = 0; z < s.Depth; z++)
            for (int y = 0; y < s.Height; y++)
                for (int x = 0; x < s.Width; x++, i++)
                {
                    // The voxel's centre in mm, at the case's own spacing (anatomy scaled to the nominal extent).
                    double[] p = [(z + 0.5) * extent[0] / s.Depth, (y + 0.5) * extent[1] / s.Height, (x + 0.5) * extent[2] / s.Width];
                    int region = 0;
                    for (int r = 0; r < regions.Length; r++)
                        if (regions[r].Contains(p)) region = r + 1;
                    bool inOrgan = organ.Contains(p) || region > 0;
                    if (options.Ct)
                    {
                        bool inBody = body.Contains(p) || inOrgan;
                        int label = region >= 2 ? 2 : inOrgan ? 1 : 0;
                        labels[i] = (byte)label;
                        double mean = !inBody ? -1000 : CtMeans[label];
                        image[i] = (float)(mean + (inBody ? 12 : 4) * Gaussian(random));
                        continue;
                    }
                    if (!inOrgan) continue; // zero background, label 0
                    labels[i] = (byte)region;
                    double tissue = 1 + 0.15 * (p[1] - organ.Centre[1]) / organ.Radii[1]; // a smooth gradient across the brain
                    for (int c = 0; c < channels; c++)
                    {
                        double v = MriMeans[c, region] * (region == 0 ? tissue : 1) + 40 * Gaussian(random);
                        image[c * s.Voxels + i] = (float)Math.Max(v, 1); // inside the brain every modality stays above 0
                    }
                }
        return (image, labels, spacing);
    }

    private static double Gaussian(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>An ellipsoid whose radius wobbles with direction (three random low-frequency terms).</summary>
    private sealed record Blob(double[] Centre, double[] Radii, double[] Wobble)
    {
        public static Blob Make(Random random, double[] extent, double centreSpread, (double Lo, double Hi) radius)
        {
            var centre = new double[3];
            var radii = new double[3];
            for (int a = 0; a < 3; a++)
            {
                centre[a] = extent[a] * (0.5 + centreSpread * (2 * random.NextDouble() - 1));
                radii[a] = extent[a] * (radius.Lo + (radius.Hi - radius.Lo) * random.NextDouble());
            }
            return new Blob(centre, radii, Wobbles(random));
        }

        public static Blob Around(Random random, double[] centre, double radius) =>
            new(centre, [radius * (0.85 + 0.3 * random.NextDouble()), radius * (0.85 + 0.3 * random.NextDouble()), radius * (0.85 + 0.3 * random.NextDouble())], Wobbles(random));

        private static double[] Wobbles(Random random) =>
            Enumerable.Range(0, 9).Select(_ => 2 * random.NextDouble() - 1).ToArray();

        public bool Contains(double[] p)
        {
            double dz = (p[0] - Centre[0]) / Radii[0], dy = (p[1] - Centre[1]) / Radii[1], dx = (p[2] - Centre[2]) / Radii[2];
            double rho = Math.Sqrt(dz * dz + dy * dy + dx * dx);
            if (rho < 1e-9) return true;
            double uz = dz / rho, uy = dy / rho, ux = dx / rho;
            double wobble = 0.08 * (Wobble[0] * Math.Sin(3 * ux + 6 * Wobble[1]) + Wobble[2] * Math.Sin(3 * uy + 6 * Wobble[3]) + Wobble[4] * Math.Sin(3 * uz + 6 * Wobble[5]))
                + 0.05 * Wobble[6] * ux * uy + 0.05 * Wobble[7] * uy * uz + 0.05 * Wobble[8] * uz * ux;
            return rho < 1 + wobble;
        }
    }
}
