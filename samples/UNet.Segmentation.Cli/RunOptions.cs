using System.CommandLine;
using UNet.Segmentation.Training;

namespace UNet.Segmentation.Cli;

/// <summary>The reference main.py's flags, in kebab-case with the underscore spellings as aliases, plus --device, --checkpoint, --recipe and the rest.</summary>
internal sealed class RunOptions
{
    public readonly Option<string> ExecMode = new("--exec-mode", "--exec_mode") { Description = "train, evaluate, train_and_evaluate, predict or train_and_predict", DefaultValueFactory = _ => "train_and_predict" };
    public readonly Option<DirectoryInfo?> DataDir = new("--data-dir", "--data_dir") { Description = "ISBI-style folder, or one with images/ and masks/; without it, synthetic data and the cpu-synthetic recipe" };
    public readonly Option<DirectoryInfo> ModelDir = new("--model-dir", "--model_dir") { Description = "checkpoints/ and predictions/ go here", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("artifacts", "model")) };
    public readonly Option<DirectoryInfo?> LogDir = new("--log-dir", "--log_dir") { Description = "where metrics.jsonl is written (default: the model dir)" };
    public readonly Option<int?> BatchSize = new("--batch-size", "--batch_size") { Description = "samples per step (default: the recipe's; reference 8)" };
    public readonly Option<double?> LearningRate = new("--learning-rate", "--learning_rate") { Description = "Adam's learning rate (default: the recipe's; reference 1e-4)" };
    public readonly Option<string> Fold = new("--fold", "--crossvalidation_idx", "--crossvalidation-idx") { Description = "cross-validation fold, 0..4, or none (also None): train on every slice, no validation, as the reference makes its final model (the first TF2 README's --crossvalidation_idx is an alias)", DefaultValueFactory = _ => "0" };
    public readonly Option<long?> MaxSteps = new("--max-steps", "--max_steps") { Description = "optimizer steps (default: the recipe's; reference 6400)" };
    public readonly Option<double> WeightDecay = new("--weight-decay", "--weight_decay") { Description = "coupled L2 weight decay", DefaultValueFactory = _ => 5e-4 };
    public readonly Option<int?> LogEvery = new("--log-every", "--log_every") { Description = "log every N steps (default: the recipe's)" };
    public readonly Option<int> EvaluateEvery = new("--evaluate-every", "--evaluate_every") { Description = "evaluate every N steps (0: at the end only)", DefaultValueFactory = _ => 0 };
    public readonly Option<int> Seed = new("--seed") { Description = "seed of weights, data order and augmentation", DefaultValueFactory = _ => 0 };
    public readonly Option<bool> Augment = new("--augment") { Description = "augment training batches (flips, crop-and-resize, brightness)" };
    public readonly Option<bool> Benchmark = new("--benchmark") { Description = "time steps instead of training to convergence: throughput and latency as the reference reports them" };
    public readonly Option<int?> WarmupSteps = new("--warmup-steps", "--warmup_steps") { Description = "benchmark steps not timed (default: the recipe's; reference 200); not the learning rate's warm-up (--lr-warmup-steps)" };
    public readonly Option<bool> Amp = new("--amp", "--use_amp", "--use-amp") { Description = "mixed precision for training and prediction: bfloat16 on CPU, float16 (with loss scaling when training) on CUDA (default: the recipe's precision)" };
    public readonly Option<bool> NoAmp = new("--no-amp", "--no_amp") { Description = "float32 for training and prediction, also when the recipe uses mixed precision" };
    public readonly Option<bool> ChannelsLast = new("--channels-last", "--channels_last") { Description = "keep the U-Net channels-last (NHWC): faster bfloat16 convolutions and pooling on the CPU (default: the recipe's; cpu-fast is channels-last)" };
    public readonly Option<bool> NoChannelsLast = new("--no-channels-last", "--no_channels_last") { Description = "keep the U-Net contiguous (NCHW), also when the recipe is channels-last" };
    public readonly Option<bool> NoAugment = new("--no-augment", "--no_augment") { Description = "no augmentation (the reference's default; also turns off the synthetic data's)" };
    public readonly Option<bool> NoBenchmark = new("--no-benchmark", "--no_benchmark") { Description = "train to convergence (the default)" };
    public readonly Option<bool> Xla = new("--xla", "--use_xla", "--use-xla") { Description = "accepted for the reference's commands: libtorch has no XLA, so it prints one line and runs libtorch's kernels" };
    public readonly Option<bool> Trt = new("--use_trt", "--use-trt") { Description = "accepted for the reference's commands: libtorch has no TensorRT, so it prints one line and predicts with libtorch (TensorRT: unet export, then trtexec)" };
    public readonly Option<bool> ResumeTraining = new("--resume_training", "--resume-training") { Description = "accepted for the reference's commands: training always resumes from the newest checkpoint in --model-dir" };
    public readonly Option<string> Device = new("--device") { Description = "cpu or cuda[:N]", DefaultValueFactory = _ => "cpu" };
    public readonly Option<bool> Tf32 = new("--tf32") { Description = "CUDA: TensorFloat-32 for float32 matrix products and convolutions (Ampere and newer)" };
    public readonly Option<FileInfo?> Checkpoint = new("--checkpoint") { Description = "checkpoint to evaluate or predict with (default: the newest in <model-dir>/checkpoints)" };
    public readonly Option<int?> Filters = new("--filters") { Description = "base filters of the U-Net (default: the recipe's; reference 64)" };
    public readonly Option<string?> Recipe = new("--recipe") { Description = $"named defaults, each overridden by its flag: {string.Join("; ", TrainingRecipes.All.Select(r => $"{r.Name} ({r.Describe()})"))}. Default: cpu-synthetic without --data-dir, reference with it" };
    public readonly Option<string?> LrSchedule = new("--lr-schedule", "--lr_schedule") { Description = "the learning rate's decay over the steps: constant or cosine (to 0; default: the recipe's)" };
    public readonly Option<long?> LrWarmupSteps = new("--lr-warmup-steps", "--lr_warmup_steps") { Description = "steps of the learning rate's linear warm-up, 0 for none (default: the recipe's)" };
    public readonly Option<int?> PrefetchBatches = new("--prefetch-batches", "--prefetch_batches") { Description = "training batches the loader thread prepares ahead (default: the recipe's, 2)" };

    public readonly Option<bool> Tiled = new("--tiled") { Description = "predict with a sliding window (Gaussian-blended input-size tiles at full resolution) instead of the reference's resize" };
    public readonly Option<double> Overlap = new("--overlap") { Description = "with --tiled: the tiles' overlap, a fraction in [0, 1)", DefaultValueFactory = _ => 0.5 };
    public readonly Option<bool> Tta = new("--tta") { Description = "flip test-time augmentation: the mean over the four flips" };
    public readonly Option<int> Classes = new("--classes") { Description = "classes in the masks of a folder dataset (images/ and masks/), checked against them", DefaultValueFactory = _ => 2 };
    public readonly Option<int?> NprocPerNode = new("--nproc-per-node", "--nproc_per_node") { Description = "data-parallel training on this machine: start N ranks through Open MPI's mpirun (many machines: mpirun -np N --hostfile H dotnet unet.dll ...)" };

    public readonly Option<int> EarlyStoppingPatience = new("--early-stopping-patience", "--early_stopping_patience") { Description = "stop after N evaluations without improvement (0: off; needs --evaluate-every and validation, e.g. train_and_evaluate)", DefaultValueFactory = _ => 0 };
    public readonly Option<string> EarlyStoppingMetric = new("--early-stopping-metric", "--early_stopping_metric") { Description = "the validation metric early stopping and --keep-best watch: dice, hard_dice, mean_iou, accuracy or loss", DefaultValueFactory = _ => "dice" };
    public readonly Option<double> MinDelta = new("--min-delta", "--min_delta") { Description = "the smallest change of the metric that counts as an improvement", DefaultValueFactory = _ => 0 };
    public readonly Option<bool> KeepBest = new("--keep-best", "--keep_best") { Description = "keep the best checkpoint on that metric as <model-dir>/checkpoints/best.safetensors" };
    public readonly Option<bool> ChallengeScores = new("--challenge-scores", "--challenge_scores") { Description = "each evaluation also scores the challenge's V_rand and V_info of the validation slices' full-size maps (ISBI data)" };
    public readonly Option<DirectoryInfo?> TensorBoard = new("--tensorboard") { Description = "TensorBoard event files go here (default: <log-dir>/tensorboard)" };

    public readonly Option<string> Model = new("--model") { Description = "the network: unet (the 2-D U-Net of the reference) or nnunet (nnU-Net on an MSD task: train, train_and_evaluate, evaluate and --benchmark; its prediction is unet predict --model nnunet)", DefaultValueFactory = _ => "unet" };
    public readonly Option<int> Dim = new("--dim") { Description = "with --model nnunet: 3 (3-D volume patches) or 2 (2-D patches of axial slices, predicted slice by slice)", DefaultValueFactory = _ => 3 };
    public readonly Option<DirectoryInfo?> Task = new("--task") { Description = "with --model nnunet: an MSD task folder (dataset.json, imagesTr/, labelsTr/); without it, a synthetic BraTS-like task is generated into <model-dir>/synthetic-task" };
    public readonly Option<int?> Patch = new("--patch") { Description = "with --model nnunet: the patch's side, a cube in 3-D, a square in 2-D (default with --task 128 in 3-D, 192 in 2-D; 32 for the synthetic task); evaluate and --benchmark of a checkpoint take its own" };
    public IEnumerable<Option> All => [Model, Dim, Task, Patch, Recipe, LrSchedule, LrWarmupSteps, PrefetchBatches, NoAmp, ChannelsLast, NoChannelsLast, ChallengeScores, TensorBoard, EarlyStoppingPatience, EarlyStoppingMetric, MinDelta, KeepBest, NprocPerNode, Classes, Tiled, Overlap, Tta, ExecMode, DataDir, ModelDir, LogDir, BatchSize, LearningRate, Fold, MaxSteps, WeightDecay, LogEvery, EvaluateEvery, Seed, Augment, NoAugment, Benchmark, NoBenchmark, WarmupSteps, Amp, Xla, Trt, ResumeTraining, Device, Tf32, Checkpoint, Filters];
}
