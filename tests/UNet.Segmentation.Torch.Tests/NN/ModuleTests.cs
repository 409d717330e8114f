using UNet.Segmentation.Torch.NN;

namespace UNet.Segmentation.Torch.Tests.NN;

[Collection("LiveTensors")]
public class ModuleTests
{
    private sealed class Block : Module<Tensor, Tensor>
    {
        public Block(bool batchNorm)
        {
            Conv1 = RegisterModule("conv1", new Conv2d(2, 3, 3));
            if (batchNorm) Norm = RegisterModule("norm", new BatchNorm2d(3));
        }

        public Conv2d Conv1 { get; }
        public BatchNorm2d? Norm { get; }

        public override Tensor Forward(Tensor input) => Norm is null ? Conv1.Forward(input) : Norm.Forward(Conv1.Forward(input));
    }

    private sealed class Net : Module<Tensor, Tensor>
    {
        public Net(bool batchNorm = false)
        {
            Encoder = RegisterModule("encoder", new Sequential(new Conv2d(1, 2, 1), new ReLU()));
            Block = RegisterModule("block", new Block(batchNorm));
            Up = RegisterModule("up", new ConvTranspose2d(3, 1, 2, stride: 2, bias: false));
        }

        public Sequential Encoder { get; }
        public Block Block { get; }
        public ConvTranspose2d Up { get; }

        public override Tensor Forward(Tensor input) => Up.Forward(Block.Forward(Encoder.Forward(input)));
    }

    [Fact]
    public void NamedParameters_UseDottedPyTorchKeys_InRegistrationOrder()
    {
        using var net = new Net(batchNorm: true);
        var names = net.NamedParameters().Select(p => p.Name).ToArray();
        Assert.Equal(new[] { "encoder.0.weight", "encoder.0.bias", "block.conv1.weight", "block.conv1.bias", "block.norm.weight", "block.norm.bias", "up.weight" }, names);
        Assert.Equal(new[] { "block.norm.running_mean", "block.norm.running_var", "block.norm.num_batches_tracked" }, net.NamedBuffers().Select(b => b.Name).ToArray());
        Assert.Equal(2 * 1 + 2 + 3 * 2 * 9 + 3 + 3 + 3 + 3 * 1 * 4, net.ParameterCount);
        Assert.All(net.Parameters(), p => Assert.True(p.RequiresGrad && p.IsLeaf));
    }

    [Fact]
    public void RegisteringTwiceOrDottedNames_IsRejected()
    {
        Assert.Contains("already registered", Assert.Throws<ArgumentException>(() => new BadNames(duplicate: true)).Message);
        Assert.Contains("contains a dot", Assert.Throws<ArgumentException>(() => new BadNames(duplicate: false)).Message);
    }

    private sealed class BadNames : Module
    {
        public BadNames(bool duplicate)
        {
            RegisterModule("a", new ReLU());
            RegisterModule(duplicate ? "a" : "b.c", new ReLU());
        }
    }

    [Fact]
    public void TrainAndEval_PropagateToDescendants()
    {
        using var net = new Net(batchNorm: true);
        net.Eval();
        Assert.All(net.NamedModules(), m => Assert.False(m.Module.IsTraining));
        net.Train();
        Assert.All(net.NamedModules(), m => Assert.True(m.Module.IsTraining));
    }

    [Fact]
    public void StateDict_RoundTripsIntoAFreshModule()
    {
        using var scope = TensorScope.Begin();
        using var a = new Net(batchNorm: true);
        using var b = new Net(batchNorm: true);
        var x = Tensor.Randn([1, 1, 6, 6]);
        a.Forward(x); // moves BatchNorm's running statistics away from their initial values
        a.Eval(); b.Eval();
        Assert.False(a.Forward(x).AllClose(b.Forward(x)));
        b.LoadStateDict(a.StateDict());
        Assert.True(a.Forward(x).AllClose(b.Forward(x), 0, 0));
        Assert.Equal(1, b.Block.Norm!.BatchesTracked.ToInt64());
    }

    [Fact]
    public void LoadStateDict_ListsMissingUnexpectedAndMismatchedKeys_AndChangesNothing()
    {
        using var scope = TensorScope.Begin();
        using var net = new Net();
        var before = net.Block.Conv1.Weight.Clone();
        var dict = new Dictionary<string, Tensor>(net.StateDict());
        dict.Remove("up.weight");
        dict["extra.weight"] = Tensor.Zeros([1]);
        dict["block.conv1.weight"] = Tensor.Zeros([3, 2, 5, 5]);
        var ex = Assert.Throws<StateDictMismatchException>(() => net.LoadStateDict(dict));
        Assert.Equal(new[] { "up.weight" }, ex.Missing);
        Assert.Equal(new[] { "extra.weight" }, ex.Unexpected);
        Assert.Single(ex.Mismatched);
        Assert.Contains("block.conv1.weight: expected shape [3, 2, 3, 3], got [3, 2, 5, 5]", ex.Message);
        Assert.True(before.AllClose(net.Block.Conv1.Weight, 0, 0));

        // Non-strict ignores missing and unexpected keys but never a shape mismatch.
        dict["block.conv1.weight"] = Tensor.Ones([3, 2, 3, 3]);
        net.LoadStateDict(dict, strict: false);
        Assert.Equal(54.0, net.Block.Conv1.Weight.Sum().ToDouble());
    }

    [Fact]
    public void To_ConvertsInPlace_KeepingParameterObjects()
    {
        using var scope = TensorScope.Begin();
        using var net = new Net(batchNorm: true);
        var weight = net.Block.Conv1.Weight;
        using var copy = weight.Clone().DetachFromScope();
        net.To(dtype: ScalarType.Float64);
        Assert.Same(weight, net.Block.Conv1.Weight);
        Assert.Equal(ScalarType.Float64, weight.Dtype);
        Assert.True(weight.RequiresGrad && weight.IsLeaf);
        Assert.Equal(ScalarType.Int64, net.Block.Norm!.BatchesTracked.Dtype); // integer buffers keep their type
        Assert.True(copy.To(ScalarType.Float64).AllClose(weight, 0, 0));

        net.To(memoryFormat: MemoryFormat.ChannelsLast);
        Assert.True(weight.IsContiguous(MemoryFormat.ChannelsLast));
        var y = net.Forward(Tensor.Randn([1, 1, 6, 6], ScalarType.Float64));
        y.Sum().Backward();
        Assert.NotNull(weight.Grad);
        Assert.Throws<ArgumentException>(() => net.To(dtype: ScalarType.Int32));
    }

    [Fact]
    public void Dispose_FreesEveryParameterAndBuffer()
    {
        LiveTensors.Settle();
        long baseline = LibTorch.LiveTensorCount;
        var net = new Net(batchNorm: true);
        Assert.Equal(baseline + 10, LibTorch.LiveTensorCount);
        net.Dispose();
        Assert.Equal(baseline, LibTorch.LiveTensorCount);
        Assert.All(net.Parameters(), p => Assert.True(p.IsDisposed));
    }

    [Fact]
    public void Dropout_IsIdentityInEval_AndActiveInTraining()
    {
        using var scope = TensorScope.Begin();
        using var dropout = new Dropout(0.5);
        var x = Tensor.Ones([1000]);
        Assert.True(dropout.IsTraining); // modules start in training mode, as in PyTorch
        dropout.Eval();
        Assert.Equal(1000.0, dropout.Forward(x).Sum().ToDouble());
        dropout.Train();
        var zeros = dropout.Forward(x).Eq(0).Sum().ToDouble();
        Assert.InRange(zeros, 400, 600);
        dropout.Eval();
        Assert.Equal(0, dropout.Forward(x).Eq(0).Sum().ToDouble());
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(1.0));
    }

    [Fact]
    public void LayerArguments_AreValidatedWithTheirNames()
    {
        Assert.Equal("groups", Assert.Throws<ArgumentException>(() => new Conv2d(3, 4, 3, groups: 2)).ParamName);
        Assert.Equal("inChannels", Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2d(0, 4, 3)).ParamName);
        Assert.Equal("kernel", Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2d(1, 4, 0)).ParamName);
        Assert.Equal("outputPadding", Assert.Throws<ArgumentOutOfRangeException>(() => new ConvTranspose2d(1, 1, 3, stride: 2, outputPadding: 2)).ParamName);
        Assert.Equal("kernelSize", Assert.Throws<ArgumentOutOfRangeException>(() => new MaxPool2d(0)).ParamName);
    }

    [Fact]
    public void MaxPool2dAndConvTranspose2d_ProduceTheShapesTheirArithmeticGives()
    {
        using var scope = TensorScope.Begin();
        using var pool = new MaxPool2d(2);
        using var up = new ConvTranspose2d(4, 2, 3, stride: 2);
        var x = Tensor.Randn([1, 4, 10, 10]);
        Assert.Equal(new long[] { 1, 4, 5, 5 }, pool.Forward(x).Shape);
        Assert.Equal(new long[] { 1, 2, 21, 21 }, up.Forward(x).Shape); // (n−1)·2 + 3
    }
}
