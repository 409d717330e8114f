using TorchSharp;
using static TorchSharp.torch;
using Adam = TorchSharp.Modules.Adam;
using OptimizerHelper = TorchSharp.Modules.OptimizerHelper;

namespace UNet.Segmentation.Training;

/// <summary>
/// How a checkpoint holds an optimizer's state: Adam's in PyTorch's key layout (so PyTorch users
/// read it), any other TorchSharp optimizer's in TorchSharp's own binary form as one uint8 tensor,
/// and none for an optimizer TorchSharp cannot save. Keys here are without the <c>optimizer.</c> prefix.
/// </summary>
internal static class OptimizerStates
{
    public const string TypeKey = "optimizer", StateKey = "optimizer_state";
    public const string AdamLayout = "adam", TorchSharpLayout = "torchsharp", NoState = "none";
    private const string BlobKey = "torchsharp";

    public static string TypeName(OptimizerHelper optimizer) => optimizer.GetType().FullName ?? optimizer.GetType().Name;

    /// <summary>Adds the optimizer's state tensors (keys with the <c>optimizer.</c> prefix) and returns the layout written.</summary>
    public static string Add(OptimizerHelper optimizer, List<KeyValuePair<string, Tensor>> tensors)
    {
        if (optimizer is Adam adam)
        {
            var states = Checkpoints.AdamStates(adam);
            for (int i = 0; i < states.Count; i++)
            {
                var s = states[i];
                tensors.Add(KeyValuePair.Create($"optimizer.state.{i}.exp_avg", s.exp_avg.contiguous()));
                tensors.Add(KeyValuePair.Create($"optimizer.state.{i}.exp_avg_sq", s.exp_avg_sq.contiguous()));
                if (s.max_exp_avg_sq is { } max) tensors.Add(KeyValuePair.Create($"optimizer.state.{i}.max_exp_avg_sq", max.contiguous()));
                tensors.Add(KeyValuePair.Create($"optimizer.state.{i}.step", tensor(s.step, ScalarType.Int64)));
            }
            return AdamLayout;
        }
        byte[] bytes;
        try
        {
            bytes = Serialize(optimizer);
        }
        catch (Exception e) when (e is NotImplementedException or NotSupportedException or InvalidCastException)
        {
            return NoState;
        }
        tensors.Add(KeyValuePair.Create($"optimizer.{BlobKey}", tensor(bytes, ScalarType.Byte)));
        return TorchSharpLayout;
    }

    /// <summary>TorchSharp's binary form of the optimizer's state.</summary>
    public static byte[] Serialize(OptimizerHelper optimizer)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true)) optimizer.save_state_dict(writer);
        return stream.ToArray();
    }

    /// <summary>
    /// Loads TorchSharp's binary form into the optimizer. The state tensors it makes (SGD's
    /// momentum buffers, say) belong to the optimizer, not to any dispose scope of the caller's.
    /// </summary>
    public static void Deserialize(OptimizerHelper optimizer, byte[] bytes)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes));
        using var scope = NewDisposeScope();
        optimizer.load_state_dict(reader);
        scope.Detach(scope.DisposablesView.ToList());
    }

    /// <summary>The optimizer type and layout a checkpoint's metadata names (checkpoints before these keys: Adam).</summary>
    public static (string Type, string Layout) Describe(IReadOnlyDictionary<string, string> metadata) =>
        (metadata.GetValueOrDefault(TypeKey) ?? typeof(Adam).FullName!, metadata.GetValueOrDefault(StateKey) ?? AdamLayout);

    /// <summary>
    /// True when the checkpoint holds state for <paramref name="optimizer"/>; false when it holds
    /// none; an <see cref="InvalidDataException"/> naming the file when it holds another optimizer's.
    /// </summary>
    public static bool Check(string path, (string Type, string Layout) written, OptimizerHelper optimizer, IReadOnlyDictionary<string, Tensor> source)
    {
        if (written.Layout == NoState) return false;
        if (written.Type != TypeName(optimizer))
            throw new InvalidDataException($"{path} holds the state of the optimizer {written.Type}; this trainer's is {TypeName(optimizer)}: resume with the same optimizer, or start in another checkpoint folder");
        if (written.Layout == TorchSharpLayout && !source.ContainsKey(BlobKey))
            throw new InvalidDataException($"{path} names {TorchSharpLayout} optimizer state but holds no 'optimizer.{BlobKey}' tensor");
        if (written.Layout is not (AdamLayout or TorchSharpLayout))
            throw new InvalidDataException($"{path}: unknown optimizer state layout '{written.Layout}'");
        return true;
    }

    /// <summary>Loads a checked TorchSharp-layout state.</summary>
    public static void Load(OptimizerHelper optimizer, IReadOnlyDictionary<string, Tensor> source)
    {
        var blob = source[BlobKey];
        if (blob.dtype != ScalarType.Byte || blob.dim() != 1) throw new InvalidDataException($"'optimizer.{BlobKey}' must be a 1-D uint8 tensor (got {blob.dtype}, {blob.dim()} dimensions)");
        try
        {
            Deserialize(optimizer, blob.data<byte>().ToArray());
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or ArgumentException or InvalidOperationException)
        {
            throw new InvalidDataException($"the optimizer state does not fit this {TypeName(optimizer)}: {e.Message}", e);
        }
    }
}
