using TorchSharp;
using static TorchSharp.torch;
using Optimizer = TorchSharp.torch.optim.Optimizer;

namespace UNet.Segmentation.Training;

/// <summary>A <see cref="LossScaler"/>'s state as plain numbers, for checkpoints.</summary>
/// <param name="Scale">The current loss scale.</param>
/// <param name="GoodSteps">Consecutive finite steps since the scale last changed.</param>
/// <param name="SkippedSteps">Steps skipped for non-finite gradients since the scaler was made.</param>
public readonly record struct LossScalerState(double Scale, int GoodSteps, long SkippedSteps);

/// <summary>
/// Dynamic loss scaling for float16 training, as the reference's mixed precision (TF's dynamic
/// loss scale) and PyTorch's GradScaler: the loss is multiplied by a large scale before backward
/// so small float16 gradients do not flush to zero; before the optimizer step the gradients are
/// divided by it again and checked; a step with an infinite or NaN gradient is skipped and the
/// scale multiplied by <see cref="BackoffFactor"/>; after <see cref="GrowthInterval"/> finite
/// steps in a row it is multiplied by <see cref="GrowthFactor"/>. A disabled scaler passes
/// everything through (float32 or bfloat16 training needs no scaling).
/// </summary>
/// <example><code>
/// model.zero_grad();
/// scaler.Scale(loss).backward();
/// bool stepped = scaler.Step(optimizer);   // unscale, check, step when finite, update the scale
/// </code></example>
public sealed class LossScaler
{
    private double _scale;
    private bool _unscaled;
    private bool _unscaledFinite = true;

    /// <summary>Makes a scaler; the defaults are PyTorch's GradScaler's (and 2^16 is TF's initial dynamic scale too).</summary>
    public LossScaler(double initialScale = 65536, double growthFactor = 2, double backoffFactor = 0.5, int growthInterval = 2000, bool enabled = true)
    {
        if (!(initialScale > 0) || double.IsInfinity(initialScale))
            throw new ArgumentOutOfRangeException(nameof(initialScale), initialScale, "the initial scale must be a finite positive number");
        if (!(growthFactor > 1) || double.IsInfinity(growthFactor))
            throw new ArgumentOutOfRangeException(nameof(growthFactor), growthFactor, "the growth factor must be finite and above 1");
        if (!(backoffFactor > 0 && backoffFactor < 1))
            throw new ArgumentOutOfRangeException(nameof(backoffFactor), backoffFactor, "the backoff factor must lie strictly between 0 and 1");
        ArgumentOutOfRangeException.ThrowIfLessThan(growthInterval, 1);
        _scale = initialScale;
        GrowthFactor = growthFactor;
        BackoffFactor = backoffFactor;
        GrowthInterval = growthInterval;
        Enabled = enabled;
    }

    /// <summary>False for a pass-through scaler.</summary>
    public bool Enabled { get; }

    /// <summary>What the scale is multiplied by after <see cref="GrowthInterval"/> finite steps in a row.</summary>
    public double GrowthFactor { get; }

    /// <summary>What the scale is multiplied by after a step with non-finite gradients.</summary>
    public double BackoffFactor { get; }

    /// <summary>How many finite steps in a row make the scale grow.</summary>
    public int GrowthInterval { get; }

    /// <summary>The scale the next <see cref="Scale(Tensor)"/> multiplies by (1 when disabled).</summary>
    public double CurrentScale => Enabled ? _scale : 1;

    /// <summary>Consecutive finite steps since the scale last changed (always below <see cref="GrowthInterval"/>).</summary>
    public int GoodSteps { get; private set; }

    /// <summary>Steps skipped because a gradient was infinite or NaN.</summary>
    public long SkippedSteps { get; private set; }

    /// <summary>
    /// The loss times <see cref="CurrentScale"/>, in float32 (a float16 or bfloat16 loss is cast
    /// first, so the scaled value cannot overflow): a new tensor in the current dispose scope. With
    /// a disabled scaler, a new handle to the loss itself.
    /// </summary>
    public Tensor Scale(Tensor loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (!Enabled) return loss.alias();
        using Scalar scale = _scale.ToScalar();   // held until the call returns (see Losses.Two)
        if (loss.dtype is not (ScalarType.Float16 or ScalarType.BFloat16)) return loss.mul(scale);
        using var scope = NewDisposeScope();
        return loss.to(ScalarType.Float32).mul(scale).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Divides every gradient of <paramref name="parameters"/> by the scale, in place and without
    /// autograd, and returns false when any gradient holds an infinite or NaN value (parameters
    /// without a gradient are skipped). Each gradient is summed in float64 (a sum of float16 or
    /// float32 values cannot overflow there, so it is non-finite exactly when an element is) and
    /// the sums are read back in one copy. Call it at most once between two <see cref="Update"/>s,
    /// e.g. to clip unscaled gradients before <see cref="Step(Optimizer)"/>, which then does not
    /// unscale again. A disabled scaler does nothing and returns true.
    /// </summary>
    public bool UnscaleAndCheck(IReadOnlyList<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!Enabled) return true;
        if (_unscaled) throw new InvalidOperationException("the gradients were already unscaled since the last Update");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using Scalar inverse = (1.0 / CurrentScale).ToScalar();   // held for the loop (see Losses.Two)
        var sums = new List<Tensor>(parameters.Count);
        foreach (var p in parameters)
        {
            ArgumentNullException.ThrowIfNull(p, nameof(parameters));
            if (p.grad is not { } grad) continue;
            grad.mul_(inverse);
            sums.Add(grad.sum(type: ScalarType.Float64));
        }
        double total = sums.Count switch
        {
            0 => 0,
            1 => sums[0].item<double>(),
            _ => stack(sums).sum().item<double>(),
        };
        _unscaled = true;
        _unscaledFinite = double.IsFinite(total);
        return _unscaledFinite;
    }

    /// <summary>
    /// Adjusts the scale after a step: finite counts a good step and multiplies the scale by
    /// <see cref="GrowthFactor"/> once <see cref="GrowthInterval"/> good steps are counted (unless
    /// that would overflow), resetting the count; non-finite multiplies it by
    /// <see cref="BackoffFactor"/>, resets the count and counts a skipped step. No-op when disabled.
    /// </summary>
    public void Update(bool finite)
    {
        _unscaled = false;
        if (!Enabled) return;
        if (!finite)
        {
            _scale *= BackoffFactor;
            GoodSteps = 0;
            SkippedSteps++;
            return;
        }
        if (++GoodSteps < GrowthInterval) return;
        double grown = _scale * GrowthFactor;
        if (grown <= float.MaxValue) _scale = grown;
        GoodSteps = 0;
    }

    /// <summary>
    /// Unscales and checks the gradients of <paramref name="parameters"/> (unless
    /// <see cref="UnscaleAndCheck"/> already did since the last update), steps
    /// <paramref name="optimizer"/> only when they are all finite, and updates the scale. Returns
    /// whether the optimizer stepped. A disabled scaler just steps.
    /// </summary>
    public bool Step(Optimizer optimizer, IReadOnlyList<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(parameters);
        if (!Enabled)
        {
            optimizer.step();
            return true;
        }
        bool finite = _unscaled ? _unscaledFinite : UnscaleAndCheck(parameters);
        if (finite) optimizer.step();
        Update(finite);
        return finite;
    }

    /// <summary>As <see cref="Step(Optimizer, IReadOnlyList{Tensor})"/> over the optimizer's own parameters.</summary>
    public bool Step(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        return Step(optimizer, optimizer.parameters().ToList<Tensor>());
    }

    /// <summary>The state as plain numbers for a checkpoint.</summary>
    public LossScalerState State => new(_scale, GoodSteps, SkippedSteps);

    /// <summary>Restores a state saved by <see cref="State"/>.</summary>
    public void Restore(LossScalerState state)
    {
        if (!(state.Scale > 0) || double.IsInfinity(state.Scale))
            throw new ArgumentOutOfRangeException(nameof(state), state.Scale, "the scale must be a finite positive number");
        if (state.GoodSteps < 0 || state.GoodSteps >= GrowthInterval)
            throw new ArgumentOutOfRangeException(nameof(state), state.GoodSteps, $"good steps must lie in [0, {GrowthInterval})");
        ArgumentOutOfRangeException.ThrowIfNegative(state.SkippedSteps, nameof(state));
        _scale = state.Scale;
        GoodSteps = state.GoodSteps;
        SkippedSteps = state.SkippedSteps;
        _unscaled = false;
    }
}
