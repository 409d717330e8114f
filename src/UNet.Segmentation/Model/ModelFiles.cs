using System.Text.Json;
using TorchSharp;
using UNet.Segmentation.Serialization;
using static TorchSharp.torch;

namespace UNet.Segmentation.Model;

/// <summary>
/// Rebuilding a model from a safetensors model file or training checkpoint whose metadata holds
/// the model's options as JSON: the one reading path of <see cref="UNetModel"/> and <see cref="NnUNet.NnUNetModel"/>.
/// </summary>
internal static class ModelFiles
{
    /// <summary>
    /// The model described by <paramref name="file"/>: options parsed from the metadata entry
    /// <paramref name="optionsKey"/>, the model built from them, its weights loaded (non-weight sections skipped)
    /// and moved to <paramref name="device"/>. Errors name <paramref name="name"/> (a path or "the checkpoint stream");
    /// a model that fails to load is disposed.
    /// </summary>
    /// <exception cref="InvalidDataException">No options, options that are not valid JSON, or weights that do not fit them.</exception>
    public static TModel Read<TModel, TOptions>(SafetensorsFile file, string name, string optionsKey, string kind,
        Func<string, TOptions> parseOptions, Func<TOptions, TModel> create, Device? device)
        where TModel : nn.Module
    {
        if (!file.Metadata.TryGetValue(optionsKey, out var json))
            throw new InvalidDataException($"{name} holds no '{optionsKey}' metadata: it was not written by {typeof(TModel).Name}.Save");
        TOptions options;
        try
        {
            options = parseOptions(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{name}: the '{optionsKey}' metadata is not valid {kind} options JSON ({e.Message})", e);
        }
        var model = create(options);
        try
        {
            StateDicts.LoadInto(model, file.Tensors.Where(kv => !UNetModel.NonWeightPrefixes.Any(p => kv.Key.StartsWith(p, StringComparison.Ordinal)))
                .ToDictionary(kv => kv.Key, kv => kv.Value));
            if (device is { } d && d.type != DeviceType.CPU) model.to(d);
            return model;
        }
        catch (StateDictMismatchException e)
        {
            model.Dispose();
            throw new InvalidDataException($"{name} does not hold weights for its own options: {e.Message}", e);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
