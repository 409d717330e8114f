using TorchSharp;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace UNet.Segmentation.Distributed;

/// <summary>
/// The parameters' gradients grouped into flat float32 buffers of about a bucket's size each, in
/// reverse order of the parameters (the last layers' gradients are ready first, as in PyTorch
/// DDP), so that averaging them takes one all-reduce per bucket rather than one per tensor. The
/// buffers are made once and reused every step.
/// </summary>
internal sealed class GradientBuckets : IDisposable
{
    private readonly List<Bucket> _buckets = [];

    public GradientBuckets(IReadOnlyList<Parameter> parameters, long bucketBytes, Device device)
    {
        var members = new List<(Parameter, long, long)>();
        long elements = 0;
        for (int i = parameters.Count - 1; i >= 0; i--)
        {
            var p = parameters[i];
            if (p.dtype != ScalarType.Float32)
                throw new NotSupportedException($"data-parallel gradients must be float32 (master weights); parameter {i} is {p.dtype}");
            long n = p.numel();
            members.Add((p, elements, n));
            elements += n;
            if (elements * sizeof(float) >= bucketBytes || i == 0)
            {
                _buckets.Add(new Bucket(members.ToArray(), empty(elements, ScalarType.Float32, device).DetachFromDisposeScope()));
                members.Clear();
                elements = 0;
            }
        }
    }

    /// <summary>The number of buckets.</summary>
    public int Count => _buckets.Count;

    /// <summary>The flat buffer of bucket <paramref name="index"/>, in order of its all-reduce.</summary>
    public Tensor Buffer(int index) => _buckets[index].Flat;

    /// <summary>Copies the parameters' gradients of bucket <paramref name="index"/> into its buffer.</summary>
    public void Gather(int index)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var b = _buckets[index];
        foreach (var (p, offset, n) in b.Members)
        {
            var grad = p.grad ?? throw new InvalidOperationException(
                $"a parameter of shape [{string.Join(", ", p.shape)}] has no gradient: every rank must give every parameter a gradient for data-parallel averaging");
            b.Flat.narrow(0, offset, n).copy_(grad.reshape(-1));
        }
    }

    /// <summary>Copies bucket <paramref name="index"/>'s buffer back into the gradients, multiplied by <paramref name="factor"/>.</summary>
    public void Scatter(int index, double factor)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var b = _buckets[index];
        using Scalar held = factor.ToScalar();   // held until the call returns (see Training/Losses.cs, Two)
        if (factor != 1) b.Flat.mul_(held);
        foreach (var (p, offset, n) in b.Members)
            p.grad!.copy_(b.Flat.narrow(0, offset, n).view(p.shape));
    }

    public void Dispose()
    {
        foreach (var b in _buckets) b.Flat.Dispose();
        _buckets.Clear();
    }

    private sealed record Bucket((Parameter Parameter, long Offset, long Count)[] Members, Tensor Flat);
}
