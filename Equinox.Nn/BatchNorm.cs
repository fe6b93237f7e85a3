using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>How <see cref="BatchNorm"/> keeps its running statistics.</summary>
public enum BatchNormMode
{
    /// <summary>
    /// PyTorch's batch norm (<c>torch.nn.BatchNorm*d</c>): training normalises by the batch's statistics and moves
    /// running ones towards them (mean, and the unbiased variance); inference normalises by the running ones, which
    /// start at mean 0 and variance 1. Equinox's <c>"batch"</c> mode is this idea with a zero-debiased average;
    /// this one matches PyTorch's numbers, so models and checkpoints move between the two.
    /// </summary>
    Batch,

    /// <summary>
    /// Equinox's <c>"ema"</c> mode: training normalises by exponential running statistics (the first batch's
    /// statistics fill them in), updated before use with the batch's mean and biased variance; inference uses them.
    /// </summary>
    Ema,
}

/// <summary>
/// Batch normalisation over <c>[N, C, ...]</c>: each channel is normalised by a mean and variance over the batch and
/// spatial dimensions, then scaled and shifted by <see cref="Weight"/> and <see cref="Bias"/>. The running
/// statistics live in a <see cref="State"/>. Unlike Equinox's, which runs per example under <c>vmap</c> with an
/// axis name, this layer takes the whole batch.
/// </summary>
[Module]
public sealed partial class BatchNorm : IStatefulLayer, IInferenceMode
{
    /// <summary>The per-channel scale <c>[C]</c> (ones at first), or null without <see cref="ChannelwiseAffine"/>.</summary>
    public readonly Tensor? Weight;

    /// <summary>The per-channel shift <c>[C]</c> (zeros at first), or null without <see cref="ChannelwiseAffine"/>.</summary>
    public readonly Tensor? Bias;

    /// <summary>
    /// Where the running statistics live: (mean, variance) in <see cref="BatchNormMode.Batch"/> mode, (first-time
    /// flag, mean, variance) in <see cref="BatchNormMode.Ema"/> mode.
    /// </summary>
    public readonly StateIndex Statistics;

    /// <summary>The number of channels.</summary>
    [Static] public readonly int InputSize;

    /// <summary>Added to the variance before its square root.</summary>
    [Static] public readonly double Eps;

    /// <summary>Whether the layer has <see cref="Weight"/> and <see cref="Bias"/>.</summary>
    [Static] public readonly bool ChannelwiseAffine;

    /// <summary>
    /// How much of the running statistics each update keeps (Equinox's convention: 0.99 keeps 99%; PyTorch's
    /// <c>momentum=0.1</c> is 0.9 here).
    /// </summary>
    [Static] public readonly double Momentum;

    /// <summary>How the running statistics are kept.</summary>
    [Static] public readonly BatchNormMode Mode;

    /// <summary>Whether the layer normalises by its running statistics and leaves them alone.</summary>
    [Static] public readonly bool Inference;

    /// <summary>Creates the layer; it has no random initialisation, so it takes no key.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size, eps or momentum out of range.</exception>
    public BatchNorm(int inputSize, BatchNormMode mode = BatchNormMode.Batch, double eps = 1e-5, bool channelwiseAffine = true,
        double momentum = 0.99, bool inference = false, DType dtype = DType.Float32)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputSize);
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), $"eps must be >= 0, got {eps}.");
        if (!(momentum > 0 && momentum < 1))
            throw new ArgumentOutOfRangeException(nameof(momentum), $"momentum is the share of the running statistics each update keeps, so it must be in (0, 1); got {momentum}.");
        Weight = channelwiseAffine ? Tensor.Ones([inputSize], dtype) : null;
        Bias = channelwiseAffine ? Tensor.Zeros([inputSize], dtype) : null;
        Statistics = mode == BatchNormMode.Batch
            ? new StateIndex(Tensor.Zeros([inputSize], dtype), Tensor.Ones([inputSize], dtype))
            : new StateIndex(Tensor.Scalar(true), Tensor.Zeros([inputSize], dtype), Tensor.Ones([inputSize], dtype));
        InputSize = inputSize;
        Eps = eps;
        ChannelwiseAffine = channelwiseAffine;
        Momentum = momentum;
        Mode = mode;
        Inference = inference;
    }

    private BatchNorm(BatchNorm source, bool inference)
    {
        (Weight, Bias, Statistics) = (source.Weight, source.Bias, source.Statistics);
        (InputSize, Eps, ChannelwiseAffine, Momentum, Mode) = (source.InputSize, source.Eps, source.ChannelwiseAffine, source.Momentum, source.Mode);
        Inference = inference;
    }

    bool IInferenceMode.Inference => Inference;

    /// <inheritdoc/>
    public IInferenceMode WithInference(bool inference) => new BatchNorm(this, inference);

    /// <inheritdoc/>
    /// <exception cref="ArgumentException"><paramref name="x"/> is not <c>[N, C, ...]</c> with C = <see cref="InputSize"/>.</exception>
    /// <exception cref="TreeHoleException">The weight or bias is a hole (a filtered tree).</exception>
    public (Tensor Output, State State) Forward(Tensor x, State state, Key? key = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(state);
        if (x.Rank < 2 || x.Size(1) != InputSize)
            throw new ArgumentException(
                $"BatchNorm({InputSize}) expects a batch [N, {InputSize}, ...]; got {x.Describe()}. It normalises over the batch, " +
                "so it takes the whole batch rather than one example under FilterVmap.", nameof(x));
        if (ChannelwiseAffine && (object?)Weight is null) throw new TreeHoleException($"{nameof(BatchNorm)}.{nameof(Weight)}");
        if (ChannelwiseAffine && (object?)Bias is null) throw new TreeHoleException($"{nameof(BatchNorm)}.{nameof(Bias)}");
        var values = state.Get(Statistics);
        return Mode == BatchNormMode.Batch ? Batch(x, state, values[0], values[1]) : Ema(x, state, values[0], values[1], values[2]);
    }

    private (Tensor, State) Batch(Tensor x, State state, Tensor mean, Tensor variance)
    {
        if (Inference) return (Functional.BatchNorm(x, mean, variance, Weight, Bias, training: false, eps: Eps).Output, state);
        var (output, newMean, newVariance) = Functional.BatchNorm(x, mean, variance, Weight, Bias, training: true, momentum: 1 - Momentum, eps: Eps);
        Tensor statMean, statVariance;
        using (Torch.NoGrad()) (statMean, statVariance) = (newMean!.Detach(), newVariance!.Detach());
        return (output, state.Set(Statistics, statMean, statVariance));
    }

    private (Tensor, State) Ema(Tensor x, State state, Tensor firstTime, Tensor running, Tensor runningVariance)
    {
        Tensor mean, variance;
        var next = state;
        if (Inference) (mean, variance) = (running, runningVariance);
        else
        {
            long[] dims = [0, .. Enumerable.Range(2, x.Rank - 2).Select(d => (long)d)];
            var batchMean = x.Mean(dims);
            var centred = x - Shaped(batchMean, x.Rank);
            var batchVariance = centred.Square().Mean(dims);
            mean = Tensor.Where(firstTime, batchMean, batchMean * (1 - Momentum) + running * Momentum);
            variance = Tensor.Where(firstTime, batchVariance, batchVariance * (1 - Momentum) + runningVariance * Momentum);
            using (Torch.NoGrad())
                next = state.Set(Statistics, Tensor.Scalar(false, firstTime.Device), mean.Detach(), variance.Detach());
        }
        var output = (x - Shaped(mean, x.Rank)) / (Shaped(variance, x.Rank) + Eps).Sqrt();
        if (ChannelwiseAffine) output = output * Shaped(Weight!, x.Rank) + Shaped(Bias!, x.Rank);
        return (output, next);
    }

    // A per-channel [C] vector shaped [C, 1, ...] to broadcast against [N, C, ...].
    private static Tensor Shaped(Tensor channels, int rank)
    {
        long[] shape = [channels.Size(0), .. Enumerable.Repeat(1L, rank - 2)];
        return channels.Reshape(shape);
    }
}
