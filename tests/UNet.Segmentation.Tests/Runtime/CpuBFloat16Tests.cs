using Microsoft.Extensions.Logging;
using TorchSharp;
using UNet.Segmentation.Model;
using UNet.Segmentation.Runtime;
using UNet.Segmentation.Tests.Shared;
using UNet.Segmentation.Training;
using static TorchSharp.torch;
using static UNet.Segmentation.Tests.Training.Loop.LoopFixture;

namespace UNet.Segmentation.Tests.Runtime;

/// <summary>
/// A recipe's bfloat16 runs only where the CPU has bfloat16 instructions: elsewhere libtorch
/// emulates it many times slower than float32 (27.6 s against 1.9 s a cpu-fast step on an AVX2-only
/// EPYC), so the trainer falls back to float32; bfloat16 named by the caller stays.
/// </summary>
[Collection("LiveTensors")]
public sealed class CpuBFloat16Tests
{
    [Fact]
    public void TheCpuidAnswer_AgreesWithTheKernelsFlags()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/proc/cpuinfo") || !System.Runtime.Intrinsics.X86.X86Base.X64.IsSupported)
            Requirement.Skip("the kernel's CPU flags are read from Linux's /proc/cpuinfo on x86-64");
        string[] flags = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("flags", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        bool avx512 = flags.Contains("avx512_bf16"), amx = flags.Contains("amx_bf16");
        Assert.Equal(avx512 || amx, CpuBFloat16.IsNative);
        string expected = (avx512, amx) switch { (true, true) => "AVX512_BF16, AMX-BF16", (true, false) => "AVX512_BF16", (false, true) => "AMX-BF16", _ => "none" };
        Assert.Equal(expected, CpuBFloat16.Instructions);
    }

    [Fact]
    public void OnlyBFloat16OnTheCpu_CanFallBack()
    {
        Assert.Equal(CpuBFloat16.IsNative ? Precision.BFloat16 : Precision.Float32, CpuBFloat16.ForDevice(Precision.BFloat16, CPU));
        Assert.Equal(Precision.BFloat16, CpuBFloat16.ForDevice(Precision.BFloat16, new Device(DeviceType.CUDA, 0)));
        Assert.Equal(Precision.Float16, CpuBFloat16.ForDevice(Precision.Float16, new Device(DeviceType.CUDA, 0)));
        Assert.Equal(Precision.Float32, CpuBFloat16.ForDevice(Precision.Float32, CPU));
        Assert.Throws<ArgumentNullException>(() => CpuBFloat16.ForDevice(Precision.BFloat16, null!));
    }

    [Fact]
    public void ARecipesBFloat16_RunsInFloat32OnACpuWithoutIt_AndTheLogSaysSo()
    {
        var log = new Lines();
        using var model = new UNetModel(Tiny);
        using var trainer = Trainer.For(model).WithRecipe(TrainingRecipes.CpuFast).WithLogger(log).Build();
        Assert.Equal(CpuBFloat16.IsNative ? Precision.BFloat16 : Precision.Float32, trainer.Options.Precision);
        Assert.Equal(CpuBFloat16.IsNative ? 0 : 1, log.Count(l => l.Contains("no bfloat16 instructions", StringComparison.Ordinal)));
    }

    [Fact]
    public void BFloat16NamedByTheCaller_Stays()
    {
        using var model = new UNetModel(Tiny);
        using var named = Trainer.For(model).WithRecipe(TrainingRecipes.CpuFast).WithMixedPrecision(Precision.BFloat16).Build();
        Assert.Equal(Precision.BFloat16, named.Options.Precision);
        using var options = Trainer.For(model).WithRecipe(TrainingRecipes.CpuFast).WithOptions(new TrainerOptions { Precision = Precision.BFloat16 }).Build();
        Assert.Equal(Precision.BFloat16, options.Options.Precision);
    }

    private sealed class Lines : List<string>, ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) => Add(formatter(state, exception));
    }
}
