using UNet.Segmentation.Torch.NN;
using UNet.Segmentation.Torch.Optim;

namespace UNet.Segmentation.Torch.Tests;

/// <summary>The foundation's acceptance snippet: a small conv net learns, inside scopes, without leaking.</summary>
[Collection("LiveTensors")]
public class TrainingLoopTests
{
    private sealed class TwoLayerNet : Module<Tensor, Tensor>
    {
        private readonly Conv2d _conv1;
        private readonly Conv2d _conv2;

        public TwoLayerNet()
        {
            _conv1 = RegisterModule("conv1", new Conv2d(1, 8, 3, padding: 1));
            _conv2 = RegisterModule("conv2", new Conv2d(8, 2, 3, padding: 1));
        }

        public override Tensor Forward(Tensor input) => _conv2.Forward(_conv1.Forward(input).Relu());
    }

    [Fact]
    public void TwoLayerConvNet_TrainsHundredAdamSteps_LossFalls_AndNoHandleLeaks()
    {
        LibTorch.ManualSeed(7);
        LiveTensors.Settle();
        long baseline = LibTorch.LiveTensorCount;
        var losses = new List<double>();
        using (var model = new TwoLayerNet())
        using (var adam = new Adam(model.Parameters(), learningRate: 1e-2))
        {
            Tensor input, target;
            using (var data = TensorScope.Begin())
            {
                input = data.MoveToOuter(Tensor.Randn([4, 1, 16, 16]));
                // A learnable rule: class 1 where the input is positive.
                target = data.MoveToOuter(input.Gt(0).Squeeze(1).To(ScalarType.Int64));
            }
            for (int step = 0; step < 100; step++)
            {
                using var scope = TensorScope.Begin();
                adam.ZeroGrad();
                var loss = Functional.CrossEntropy(model.Forward(input), target);
                loss.Backward();
                adam.Step();
                losses.Add(loss.ToDouble());
            }
            input.Dispose();
            target.Dispose();
        }
        Assert.True(losses[^1] < 0.5 * losses[0], $"loss went from {losses[0]:F4} to {losses[^1]:F4}");
        Assert.True(losses.Skip(90).Average() < losses.Take(10).Average());
        Assert.Equal(baseline, LibTorch.LiveTensorCount);
    }

    [Fact]
    public void ThousandForwardBackwardStepIterations_ReturnLiveCountToBaseline()
    {
        LiveTensors.Settle();
        long baseline = LibTorch.LiveTensorCount;
        using (var model = new Sequential(new Conv2d(1, 4, 3, padding: 1), new ReLU(), new Conv2d(4, 2, 1)))
        using (var sgd = new Sgd(model.Parameters(), learningRate: 1e-3, momentum: 0.9))
        {
            for (int i = 0; i < 1000; i++)
            {
                using var scope = TensorScope.Begin();
                var x = Tensor.Randn([2, 1, 8, 8]);
                var y = Tensor.RandInt(0, 2, [2, 8, 8]);
                sgd.ZeroGrad();
                Functional.CrossEntropy(model.Forward(x), y).Backward();
                sgd.Step();
                _ = sgd.StateDict(); // step scalars are scope-owned too
            }
            Assert.True(LibTorch.LiveTensorCount > baseline); // the model and state are alive here
        }
        Assert.Equal(baseline, LibTorch.LiveTensorCount);
    }
}
