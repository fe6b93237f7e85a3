using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>
/// One step of a gated recurrent unit, as <c>torch.nn.GRUCell</c> and Equinox's <c>eqx.nn.GRUCell</c>: an input and
/// the previous hidden state in, the next hidden state out. The weights have PyTorch's layout and initialisation
/// (uniform in ±1/√hidden), the gates stacked in the order reset, update, new:
/// <code>
/// r = σ(W_ir x + b_ir + W_hr h + b_hr)     z = σ(W_iz x + b_iz + W_hz h + b_hz)
/// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))     h' = (1 - z) ⊙ n + z ⊙ h
/// </code>
/// One example is <c>[InputSize]</c> with <c>[HiddenSize]</c>; leading batch dimensions are allowed on both, alike.
/// Run it over a sequence with <c>Eqx.Scan</c>: <c>Eqx.Scan((Tensor h, Tensor x) =&gt; { var next = cell.Forward(x, h); return (next, next); }, h0, xs)</c>.
/// </summary>
[Module]
public sealed partial class GRUCell
{
    /// <summary>The input-to-hidden weights <c>[3 · HiddenSize, InputSize]</c> (reset, update, new).</summary>
    public readonly Tensor WeightIh;

    /// <summary>The hidden-to-hidden weights <c>[3 · HiddenSize, HiddenSize]</c> (reset, update, new).</summary>
    public readonly Tensor WeightHh;

    /// <summary>The input-to-hidden bias <c>[3 · HiddenSize]</c>, or null without <see cref="UseBias"/>.</summary>
    public readonly Tensor? BiasIh;

    /// <summary>The hidden-to-hidden bias <c>[3 · HiddenSize]</c>, or null without <see cref="UseBias"/>.</summary>
    public readonly Tensor? BiasHh;

    /// <summary>The size of each input.</summary>
    [Static] public readonly int InputSize;

    /// <summary>The size of the hidden state.</summary>
    [Static] public readonly int HiddenSize;

    /// <summary>Whether the cell adds <see cref="BiasIh"/> and <see cref="BiasHh"/>.</summary>
    [Static] public readonly bool UseBias;

    /// <summary>A cell with fresh weights drawn from <paramref name="key"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public GRUCell(int inputSize, int hiddenSize, Key key, bool useBias = true, DType dtype = DType.Float32)
    {
        (WeightIh, WeightHh, BiasIh, BiasHh) = RecurrentWeights.Draw(3, inputSize, hiddenSize, key, useBias, dtype);
        (InputSize, HiddenSize, UseBias) = (inputSize, hiddenSize, useBias);
    }

    /// <summary>A cell with the given weights, laid out as PyTorch's (e.g. copied from a <c>torch.nn.GRUCell</c>); it
    /// uses biases exactly when both are given.</summary>
    /// <exception cref="ArgumentException">The shapes do not fit together.</exception>
    public GRUCell(Tensor weightIh, Tensor weightHh, Tensor? biasIh = null, Tensor? biasHh = null)
    {
        (InputSize, HiddenSize) = RecurrentWeights.Check(nameof(GRUCell), 3, weightIh, weightHh, biasIh, biasHh);
        (WeightIh, WeightHh, BiasIh, BiasHh, UseBias) = (weightIh, weightHh, biasIh, biasHh, biasIh is not null);
    }

    /// <summary>The next hidden state, from <paramref name="input"/> <c>[..., InputSize]</c> and <paramref name="hidden"/> <c>[..., HiddenSize]</c>.</summary>
    /// <param name="input">This step's input.</param>
    /// <param name="hidden">The previous hidden state (zeros at the start of a sequence), with the input's leading dimensions.</param>
    /// <param name="key">Ignored: the cell is deterministic.</param>
    /// <exception cref="ArgumentException">The input or hidden state has the wrong size, or their leading dimensions differ.</exception>
    /// <exception cref="TreeHoleException">A weight, or a bias the cell uses, is null (a filtered tree).</exception>
    public Tensor Forward(Tensor input, Tensor hidden, Key? key = null)
    {
        RecurrentWeights.CheckRunnable(nameof(GRUCell), WeightIh, WeightHh, BiasIh, BiasHh, UseBias);
        RecurrentWeights.CheckInputs(Describe(), input, hidden, InputSize, HiddenSize);
        using var scope = Torch.Scope();
        var gi = Functional.Linear(input, WeightIh, BiasIh).Chunk(3, -1);
        var gh = Functional.Linear(hidden, WeightHh, BiasHh).Chunk(3, -1);
        var reset = (gi[0] + gh[0]).Sigmoid();
        var update = (gi[1] + gh[1]).Sigmoid();
        var candidate = (gi[2] + reset * gh[2]).Tanh();
        // (1 - z) n + z h, written as n + z (h - n): one fewer op.
        return scope.MoveOut(candidate + update * (hidden - candidate))!;
    }

    private string Describe() => $"GRUCell({InputSize} -> {HiddenSize})";
}

/// <summary>
/// One step of a long short-term memory, as <c>torch.nn.LSTMCell</c> and Equinox's <c>eqx.nn.LSTMCell</c>: an input
/// and the previous state <c>(h, c)</c> in, the next state out. The weights have PyTorch's layout and initialisation
/// (uniform in ±1/√hidden), the gates stacked in the order input, forget, cell, output:
/// <code>
/// i = σ(W_ii x + b_ii + W_hi h + b_hi)   f = σ(...)   g = tanh(...)   o = σ(...)
/// c' = f ⊙ c + i ⊙ g     h' = o ⊙ tanh(c')
/// </code>
/// One example is <c>[InputSize]</c> with <c>[HiddenSize]</c> states; leading batch dimensions are allowed, alike.
/// </summary>
[Module]
public sealed partial class LSTMCell
{
    /// <summary>The input-to-hidden weights <c>[4 · HiddenSize, InputSize]</c> (input, forget, cell, output).</summary>
    public readonly Tensor WeightIh;

    /// <summary>The hidden-to-hidden weights <c>[4 · HiddenSize, HiddenSize]</c> (input, forget, cell, output).</summary>
    public readonly Tensor WeightHh;

    /// <summary>The input-to-hidden bias <c>[4 · HiddenSize]</c>, or null without <see cref="UseBias"/>.</summary>
    public readonly Tensor? BiasIh;

    /// <summary>The hidden-to-hidden bias <c>[4 · HiddenSize]</c>, or null without <see cref="UseBias"/>.</summary>
    public readonly Tensor? BiasHh;

    /// <summary>The size of each input.</summary>
    [Static] public readonly int InputSize;

    /// <summary>The size of the hidden and cell states.</summary>
    [Static] public readonly int HiddenSize;

    /// <summary>Whether the cell adds <see cref="BiasIh"/> and <see cref="BiasHh"/>.</summary>
    [Static] public readonly bool UseBias;

    /// <summary>A cell with fresh weights drawn from <paramref name="key"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public LSTMCell(int inputSize, int hiddenSize, Key key, bool useBias = true, DType dtype = DType.Float32)
    {
        (WeightIh, WeightHh, BiasIh, BiasHh) = RecurrentWeights.Draw(4, inputSize, hiddenSize, key, useBias, dtype);
        (InputSize, HiddenSize, UseBias) = (inputSize, hiddenSize, useBias);
    }

    /// <summary>A cell with the given weights, laid out as PyTorch's (e.g. copied from a <c>torch.nn.LSTMCell</c>); it
    /// uses biases exactly when both are given.</summary>
    /// <exception cref="ArgumentException">The shapes do not fit together.</exception>
    public LSTMCell(Tensor weightIh, Tensor weightHh, Tensor? biasIh = null, Tensor? biasHh = null)
    {
        (InputSize, HiddenSize) = RecurrentWeights.Check(nameof(LSTMCell), 4, weightIh, weightHh, biasIh, biasHh);
        (WeightIh, WeightHh, BiasIh, BiasHh, UseBias) = (weightIh, weightHh, biasIh, biasHh, biasIh is not null);
    }

    /// <summary>The next state <c>(h, c)</c>, from <paramref name="input"/> <c>[..., InputSize]</c> and the previous one.</summary>
    /// <param name="input">This step's input.</param>
    /// <param name="state">The previous hidden and cell states <c>[..., HiddenSize]</c> (zeros at the start of a sequence).</param>
    /// <param name="key">Ignored: the cell is deterministic.</param>
    /// <exception cref="ArgumentException">The input or a state has the wrong size, or their leading dimensions differ.</exception>
    /// <exception cref="TreeHoleException">A weight, or a bias the cell uses, is null (a filtered tree).</exception>
    public (Tensor H, Tensor C) Forward(Tensor input, (Tensor H, Tensor C) state, Key? key = null)
    {
        RecurrentWeights.CheckRunnable(nameof(LSTMCell), WeightIh, WeightHh, BiasIh, BiasHh, UseBias);
        RecurrentWeights.CheckInputs(Describe(), input, state.H, InputSize, HiddenSize);
        RecurrentWeights.CheckInputs(Describe(), input, state.C, InputSize, HiddenSize, "cell state");
        using var scope = Torch.Scope();
        var gates = Functional.Linear(input, WeightIh, BiasIh) + Functional.Linear(state.H, WeightHh, BiasHh);
        var g = gates.Chunk(4, -1);
        var c = g[1].Sigmoid() * state.C + g[0].Sigmoid() * g[2].Tanh();
        var h = g[3].Sigmoid() * c.Tanh();
        scope.MoveOut(h, c);
        return (h, c);
    }

    private string Describe() => $"LSTMCell({InputSize} -> {HiddenSize})";
}

// What the recurrent cells share: PyTorch's initialisation, and the checks of weights and inputs.
internal static class RecurrentWeights
{
    internal static (Tensor WeightIh, Tensor WeightHh, Tensor? BiasIh, Tensor? BiasHh) Draw(
        int gates, int inputSize, int hiddenSize, Key key, bool useBias, DType dtype)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hiddenSize);
        var keys = key.Split(4);
        double bound = 1 / Math.Sqrt(hiddenSize);
        return (Tensor.Uniform(keys[0], [gates * hiddenSize, inputSize], -bound, bound, dtype),
            Tensor.Uniform(keys[1], [gates * hiddenSize, hiddenSize], -bound, bound, dtype),
            useBias ? Tensor.Uniform(keys[2], [gates * hiddenSize], -bound, bound, dtype) : null,
            useBias ? Tensor.Uniform(keys[3], [gates * hiddenSize], -bound, bound, dtype) : null);
    }

    internal static (int InputSize, int HiddenSize) Check(string cell, int gates, Tensor weightIh, Tensor weightHh, Tensor? biasIh, Tensor? biasHh)
    {
        ArgumentNullException.ThrowIfNull(weightIh);
        ArgumentNullException.ThrowIfNull(weightHh);
        if (weightHh.Rank != 2 || weightHh.Size(0) != gates * weightHh.Size(1) || weightHh.Size(1) == 0)
            throw new ArgumentException($"{cell}'s weightHh must be [{gates} * hidden, hidden]; got {weightHh.Describe()}.", nameof(weightHh));
        long rows = weightHh.Size(0);
        if (weightIh.Rank != 2 || weightIh.Size(0) != rows || weightIh.Size(1) == 0)
            throw new ArgumentException($"{cell}'s weightIh must be [{rows}, input] to match weightHh {weightHh.Describe()}; got {weightIh.Describe()}.", nameof(weightIh));
        if ((biasIh is null) != (biasHh is null))
            throw new ArgumentException($"{cell} takes both biases or neither; got only {(biasIh is null ? "biasHh" : "biasIh")}.");
        foreach (var (bias, name) in new[] { (biasIh, nameof(biasIh)), (biasHh, nameof(biasHh)) })
            if (bias is not null && (bias.Rank != 1 || bias.Size(0) != rows))
                throw new ArgumentException($"{cell}'s {name} must be [{rows}] to match weightHh {weightHh.Describe()}; got {bias.Describe()}.", name);
        return ((int)weightIh.Size(1), (int)weightHh.Size(1));
    }

    internal static void CheckRunnable(string cell, Tensor weightIh, Tensor weightHh, Tensor? biasIh, Tensor? biasHh, bool useBias)
    {
        if ((object?)weightIh is null) throw new TreeHoleException($"{cell}.WeightIh");
        if ((object?)weightHh is null) throw new TreeHoleException($"{cell}.WeightHh");
        if (useBias && biasIh is null) throw new TreeHoleException($"{cell}.BiasIh");
        if (useBias && biasHh is null) throw new TreeHoleException($"{cell}.BiasHh");
    }

    internal static void CheckInputs(string describe, Tensor input, Tensor hidden, int inputSize, int hiddenSize, string what = "hidden state")
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(hidden);
        if (input.Rank == 0 || input.Size(-1) != inputSize)
            throw new ArgumentException($"{describe} expects inputs ending in {inputSize}; got {input.Describe()}.", nameof(input));
        long[] expected = [.. input.Shape.Slice(0, input.Rank - 1), hiddenSize];
        if (!hidden.Shape.SequenceEqual(expected))
            throw new ArgumentException(
                $"{describe} expects a {what} [{string.Join(",", expected)}] for input {input.Describe()}; got {hidden.Describe()}.",
                nameof(hidden));
    }
}
