using System.Text.Json;

namespace UNet.Segmentation.Data.Msd;

/// <summary>One training or test case of a task: its id and files.</summary>
/// <param name="Id">The image's file name without <c>.nii.gz</c> (<c>BRATS_001</c>); the cache and the folds use it.</param>
/// <param name="ImagePath">The image's full path (3-D, or 4-D with the modalities as the 4th dimension).</param>
/// <param name="LabelPath">The label map's full path; null for a test case.</param>
public sealed record MsdCase(string Id, string ImagePath, string? LabelPath);

/// <summary>
/// A Medical Segmentation Decathlon task folder as <c>dataset.json</c> describes it:
/// <c>imagesTr/</c>, <c>labelsTr/</c> and <c>imagesTs/</c> with the paths the JSON lists,
/// relative to the folder. Every field the reference reads is checked when the task is loaded;
/// the files themselves when a case is read (<see cref="MsdCaseReader"/>).
/// </summary>
public sealed class MsdTask
{
    private MsdTask(string folder, string name, IReadOnlyList<string> modalities, IReadOnlyList<string> labels,
        IReadOnlyList<MsdCase> training, IReadOnlyList<MsdCase> test)
    {
        Folder = folder;
        Name = name;
        Modalities = modalities;
        Labels = labels;
        Training = training;
        Test = test;
    }

    /// <summary>The task folder (holding <c>dataset.json</c>).</summary>
    public string Folder { get; }

    /// <summary>The path of <c>dataset.json</c>.</summary>
    public string DatasetJsonPath => Path.Combine(Folder, "dataset.json");

    /// <summary><c>name</c> (<c>BRATS</c> for Task01).</summary>
    public string Name { get; }

    /// <summary><c>modality</c>: the channels' names in channel order ("0", "1", …).</summary>
    public IReadOnlyList<string> Modalities { get; }

    /// <summary>
    /// True when the first modality is <c>CT</c>: the reference then clips and z-scores with the
    /// dataset's foreground statistics; otherwise (MRI and the rest) each channel is z-scored over its non-zero voxels.
    /// </summary>
    public bool IsCt => string.Equals(Modalities[0], "CT", StringComparison.Ordinal);

    /// <summary><c>labels</c>: the classes' names, class 0 (background) first; classes are 0 … K−1.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary><c>training</c>: image and label pairs, in the JSON's order.</summary>
    public IReadOnlyList<MsdCase> Training { get; }

    /// <summary><c>test</c>: images without labels (empty when the JSON has none).</summary>
    public IReadOnlyList<MsdCase> Test { get; }

    /// <summary>
    /// The training cases sorted by id (ordinal), the order in which the reference lists its
    /// preprocessed files (a sorted glob) and so the order its folds index.
    /// </summary>
    public IReadOnlyList<MsdCase> TrainingById() => Training.OrderBy(c => c.Id, StringComparer.Ordinal).ToList();

    /// <summary>Reads <c>dataset.json</c> of the task in <paramref name="folder"/>.</summary>
    /// <param name="folder">The task folder (for example the unpacked <c>Task01_BrainTumour</c>).</param>
    /// <exception cref="MsdDataException">The file is missing or malformed, or a field is missing, of the wrong kind or inconsistent; the message names the file and the field.</exception>
    public static MsdTask Load(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        folder = Path.GetFullPath(folder);
        string path = Path.Combine(folder, "dataset.json");
        if (!Directory.Exists(folder)) throw new MsdDataException(folder, null, "the task folder does not exist");
        if (!File.Exists(path)) throw new MsdDataException(path, null, "not found: an MSD task folder holds dataset.json beside imagesTr/, labelsTr/ and imagesTs/");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new MsdDataException(path, null, $"not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new MsdDataException(path, null, "the top level must be a JSON object");
            string name = RequiredString(path, root, "name");
            var modalities = NumberedNames(path, root, "modality");
            var labels = NumberedNames(path, root, "labels");
            if (labels.Count < 2) throw new MsdDataException(path, "labels", "at least the background (0) and one class are needed");
            var training = Cases(path, folder, root, "training", withLabels: true);
            if (training.Count == 0) throw new MsdDataException(path, "training", "no training cases");
            if (root.TryGetProperty("numTraining", out var num))
            {
                if (num.ValueKind != JsonValueKind.Number || !num.TryGetInt32(out int n)) throw new MsdDataException(path, "numTraining", "must be an integer");
                if (n != training.Count) throw new MsdDataException(path, "numTraining", $"says {n} but training lists {training.Count} cases");
            }
            var test = root.TryGetProperty("test", out _) ? Cases(path, folder, root, "test", withLabels: false) : [];
            var ids = training.Concat(test).GroupBy(c => c.Id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (ids is not null) throw new MsdDataException(path, "training", $"the case id {ids.Key} appears more than once");
            return new MsdTask(folder, name, modalities, labels, training, test);
        }
    }

    private static string RequiredString(string path, JsonElement root, string field)
    {
        if (!root.TryGetProperty(field, out var value)) throw new MsdDataException(path, field, "missing");
        if (value.ValueKind != JsonValueKind.String) throw new MsdDataException(path, field, $"must be a string, not {value.ValueKind}");
        return value.GetString()!;
    }

    /// <summary>An object {"0": "...", "1": "...", …} with keys exactly 0 … n−1, as a list.</summary>
    private static List<string> NumberedNames(string path, JsonElement root, string field)
    {
        if (!root.TryGetProperty(field, out var value)) throw new MsdDataException(path, field, "missing");
        if (value.ValueKind != JsonValueKind.Object) throw new MsdDataException(path, field, $"must be an object of \"0\": name, \"1\": name…, not {value.ValueKind}");
        var names = new SortedDictionary<int, string>();
        foreach (var property in value.EnumerateObject())
        {
            if (!int.TryParse(property.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int key))
                throw new MsdDataException(path, $"{field}.{property.Name}", "keys must be non-negative integers (\"0\", \"1\", …)");
            if (property.Value.ValueKind != JsonValueKind.String) throw new MsdDataException(path, $"{field}.{property.Name}", "must be a string");
            if (!names.TryAdd(key, property.Value.GetString()!)) throw new MsdDataException(path, $"{field}.{property.Name}", "given twice");
        }
        if (names.Count == 0) throw new MsdDataException(path, field, "empty");
        int expected = 0;
        foreach (int key in names.Keys)
        {
            if (key != expected) throw new MsdDataException(path, field, $"keys must run 0 … {names.Count - 1} without gaps; {expected} is missing");
            expected++;
        }
        return names.Values.ToList();
    }

    private static List<MsdCase> Cases(string path, string folder, JsonElement root, string field, bool withLabels)
    {
        if (!root.TryGetProperty(field, out var list)) throw new MsdDataException(path, field, "missing");
        if (list.ValueKind != JsonValueKind.Array) throw new MsdDataException(path, field, $"must be an array, not {list.ValueKind}");
        var cases = new List<MsdCase>();
        int i = 0;
        foreach (var item in list.EnumerateArray())
        {
            string at = $"{field}[{i++}]";
            string image;
            string? label = null;
            if (withLabels)
            {
                if (item.ValueKind != JsonValueKind.Object) throw new MsdDataException(path, at, "must be an object with \"image\" and \"label\"");
                image = RelativePath(path, item, at, "image");
                label = RelativePath(path, item, at, "label");
            }
            else if (item.ValueKind == JsonValueKind.String)
            {
                image = item.GetString()!;
            }
            else if (item.ValueKind == JsonValueKind.Object)
            {
                image = RelativePath(path, item, at, "image");
            }
            else
            {
                throw new MsdDataException(path, at, "must be a path string");
            }
            string id = CaseId(image);
            if (id.Length == 0) throw new MsdDataException(path, at, $"\"{image}\" names no file");
            cases.Add(new MsdCase(id, Resolve(folder, image), label is null ? null : Resolve(folder, label)));
        }
        return cases;
    }

    private static string RelativePath(string path, JsonElement item, string at, string key)
    {
        if (!item.TryGetProperty(key, out var value)) throw new MsdDataException(path, $"{at}.{key}", "missing");
        if (value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString()))
            throw new MsdDataException(path, $"{at}.{key}", "must be a non-empty path string");
        string relative = value.GetString()!;
        if (Path.IsPathRooted(relative)) throw new MsdDataException(path, $"{at}.{key}", $"\"{relative}\" must be relative to the task folder");
        return relative;
    }

    private static string Resolve(string folder, string relative) => Path.GetFullPath(Path.Combine(folder, relative));

    /// <summary>The file name without <c>.nii.gz</c> or <c>.nii</c>.</summary>
    internal static string CaseId(string path)
    {
        string name = Path.GetFileName(path);
        foreach (string suffix in new[] { ".nii.gz", ".nii" })
            if (name.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)) return name[..^suffix.Length];
        return name;
    }
}
