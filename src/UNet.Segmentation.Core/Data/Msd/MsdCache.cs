using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Imaging.Nifti;

namespace UNet.Segmentation.Data.Msd;

/// <summary>A preprocessed training case in the cache.</summary>
/// <param name="Properties">What preprocessing did.</param>
/// <param name="ImagePath">The preprocessed image, <c>{id}_x.nii</c>: float32 (X, Y, Z, C), spacing the target's.</param>
/// <param name="LabelPath">The preprocessed labels, <c>{id}_y.nii</c>: uint8 (X, Y, Z).</param>
/// <param name="Reused">True when the entry was already there for the same inputs and settings; false when it was (re)built now.</param>
public sealed record MsdCachedCase(MsdCaseProperties Properties, string ImagePath, string LabelPath, bool Reused)
{
    /// <summary>The case id.</summary>
    public string Id => Properties.Id;

    /// <summary>Reads the preprocessed image and labels back.</summary>
    /// <exception cref="MsdDataException">A cache file is missing or damaged.</exception>
    public (Volume<float> Image, Volume<byte> Labels) Load()
    {
        var s = Properties.Shape;
        var image = MsdCache.ReadVolume<float>(ImagePath, s);
        var labels = MsdCache.ReadVolume<byte>(LabelPath, s);
        return (image, labels);
    }
}

/// <summary>A task's preprocessed training cases, in id order, and the plan they share.</summary>
/// <param name="Folder">The cache folder.</param>
/// <param name="Plan">The plan.</param>
/// <param name="Cases">The cases sorted by id (ordinal), as the folds index them.</param>
public sealed record MsdPreparedData(string Folder, MsdPlan Plan, IReadOnlyList<MsdCachedCase> Cases);

/// <summary>
/// A folder of preprocessed training cases, reused while their inputs are unchanged.
/// </summary>
/// <remarks>
/// <para>Layout: <c>plan.json</c> (the plan and the fingerprint of the inputs it was computed
/// from); per case <c>{id}_x.nii</c> (float32, X×Y×Z×C, NIfTI's order, so nibabel and any NIfTI
/// viewer read it), <c>{id}_y.nii</c> (uint8 labels) and <c>{id}.json</c> (the
/// <see cref="MsdCaseProperties"/> and the entry's key), written last, so an entry without its
/// JSON, or with another key, is rebuilt.</para>
/// <para>Fingerprints: a case's inputs are the SHA-256 of its image's and label's bytes; its key
/// is a SHA-256 over that, the plan (spacing, patch size, normalisation and its statistics) and
/// <see cref="FormatVersion"/>. The plan is recomputed when <c>dataset.json</c>, a training file or
/// the options change; a case is rebuilt when its key changes, so editing one case's files
/// rebuilds that case (and every case, if the edit moves the median spacing or the CT
/// statistics). Hashing reads every file once per <see cref="Prepare"/> (about a second per GB).</para>
/// </remarks>
public static class MsdCache
{
    /// <summary>The version of the preprocessing and of the cache's layout, part of every key: a change here rebuilds every cache.</summary>
    public const int FormatVersion = 1;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>
    /// Preprocesses <paramref name="task"/>'s training cases into <paramref name="folder"/>,
    /// reusing every entry whose inputs and settings are unchanged.
    /// </summary>
    /// <param name="task">The task.</param>
    /// <param name="folder">The cache folder (created when missing).</param>
    /// <param name="options">Patch size and overrides.</param>
    /// <param name="cancellationToken">Stops between cases.</param>
    /// <exception cref="MsdDataException">An input file cannot be read or does not fit the task.</exception>
    public static MsdPreparedData Prepare(MsdTask task, string folder, MsdPreprocessingOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Directory.CreateDirectory(folder);
        var inputs = task.Training.ToDictionary(c => c.Id, c => Hash(FileHash(c.ImagePath), FileHash(c.LabelPath!)));
        string datasetKey = Hash([FileHash(task.DatasetJsonPath), JsonSerializer.Serialize(options, Json), .. inputs.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value)]);
        var plan = ReadPlan(folder, datasetKey) ?? WritePlan(folder, datasetKey, MsdPlan.Create(task, options, cancellationToken));
        string planKey = Hash(FormatVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), JsonSerializer.Serialize(plan, Json));
        var cases = new List<MsdCachedCase>();
        foreach (var item in task.TrainingById())
        {
            cancellationToken.ThrowIfCancellationRequested();
            string key = Hash(inputs[item.Id], planKey);
            string x = Path.Combine(folder, item.Id + "_x.nii"), y = Path.Combine(folder, item.Id + "_y.nii"), meta = Path.Combine(folder, item.Id + ".json");
            var properties = ReadEntry(meta, key, x, y);
            bool reused = properties is not null;
            if (properties is null)
            {
                var result = MsdPreprocessor.Preprocess(MsdCaseReader.Read(task, item), plan);
                WriteVolume(x, result.Image, plan.TargetSpacing);
                WriteVolume(y, result.Labels!, plan.TargetSpacing);
                WriteJson(meta, new CacheEntry(key, result.Properties));
                properties = result.Properties;
            }
            cases.Add(new MsdCachedCase(properties, x, y, reused));
        }
        return new MsdPreparedData(Path.GetFullPath(folder), plan, cases);
    }

    internal static Volume<T> ReadVolume<T>(string path, Shape3D shape)
        where T : unmanaged
    {
        if (!File.Exists(path)) throw new MsdDataException(path, null, "the cached volume is missing; prepare the cache again");
        NiftiImage image;
        try
        {
            image = NiftiFile.Read(path);
        }
        catch (NiftiFormatException e)
        {
            throw new MsdDataException(path, null, $"the cached volume is damaged: {e.Problem}", e);
        }
        int[] s = image.Shape;
        int channels = s.Length == 4 ? s[3] : 1;
        if (s.Length < 3 || new Shape3D(s[2], s[1], s[0]) != shape || image.Data is not T[] data)
            throw new MsdDataException(path, null, $"the cached volume is not the {shape} {typeof(T).Name} volume its properties describe");
        return new Volume<T>(data, channels, shape);
    }

    private static void WriteVolume<T>(string path, Volume<T> volume, IReadOnlyList<double> spacing)
        where T : unmanaged
    {
        var s = volume.Shape;
        var image = volume.Channels == 1 && typeof(T) == typeof(byte)
            ? NiftiImage.Create(volume.Data, s.Width, s.Height, s.Depth)
            : NiftiImage.Create(volume.Data, s.Width, s.Height, s.Depth, volume.Channels);
        image.Header.PixDim[1] = spacing[2];
        image.Header.PixDim[2] = spacing[1];
        image.Header.PixDim[3] = spacing[0];
        NiftiFile.Write(path, image);
    }

    private sealed record CacheEntry(string Key, MsdCaseProperties Properties);

    private sealed record PlanEntry(string Key, MsdPlan Plan);

    private static MsdCaseProperties? ReadEntry(string meta, string key, string x, string y)
    {
        if (!File.Exists(meta) || !File.Exists(x) || !File.Exists(y)) return null;
        try
        {
            var entry = JsonSerializer.Deserialize<CacheEntry>(File.ReadAllBytes(meta), Json);
            return entry is not null && entry.Key == key && entry.Properties is not null ? entry.Properties : null;
        }
        catch (JsonException)
        {
            return null; // a damaged entry is rebuilt
        }
    }

    private static MsdPlan? ReadPlan(string folder, string key)
    {
        string path = Path.Combine(folder, "plan.json");
        if (!File.Exists(path)) return null;
        try
        {
            var entry = JsonSerializer.Deserialize<PlanEntry>(File.ReadAllBytes(path), Json);
            return entry is not null && entry.Key == key ? entry.Plan : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static MsdPlan WritePlan(string folder, string key, MsdPlan plan)
    {
        WriteJson(Path.Combine(folder, "plan.json"), new PlanEntry(key, plan));
        return plan;
    }

    private static void WriteJson<T>(string path, T value)
    {
        using var file = AtomicFile.Begin(path);
        JsonSerializer.Serialize(file.Stream, value, Json);
        file.Commit();
    }

    private static string FileHash(string path)
    {
        if (!File.Exists(path)) throw new MsdDataException(path, null, "not found");
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }

    private static string Hash(params string[] parts) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", parts))));
}
