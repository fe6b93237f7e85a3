using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>
/// Multi-head attention, as Equinox's <c>nn.MultiheadAttention</c>: each of <see cref="NumHeads"/> heads projects the
/// query, key and value inputs (to <see cref="QkSize"/>, <see cref="QkSize"/> and <see cref="VoSize"/> channels),
/// attends with <c>softmax(q kᵀ / √qkSize) v</c>, and <see cref="OutputProj"/> maps the concatenated heads to
/// <see cref="OutputSize"/>. Every size is an option (key, value and output sizes default to the query size, the
/// per-head sizes to <c>querySize / numHeads</c>) and no projection has a bias unless asked, as in Equinox. With all
/// four biases and equal sizes it computes what <c>torch.nn.MultiheadAttention</c> does, whose <c>in_proj_weight</c> is
/// the three input projections' weights stacked. Dropout on the attention weights is off in inference mode
/// (<see cref="Eqx.InferenceMode{T}"/>).
/// </summary>
/// <remarks>
/// It takes three inputs, so it is not an <see cref="ILayer"/>: call it as <c>attention.Forward(x, x, x)</c> for
/// self-attention. A mask is <c>false</c> where a query must not look; masked logits get the dtype's lowest value
/// rather than −∞ (as Equinox), so a query that may look nowhere averages all values instead of giving NaN.
/// </remarks>
[Module]
public sealed partial class MultiheadAttention : IInferenceMode
{
    /// <summary>The query projection, <c>QuerySize -> NumHeads * QkSize</c>.</summary>
    public readonly Linear QueryProj;

    /// <summary>The key projection, <c>KeySize -> NumHeads * QkSize</c>.</summary>
    public readonly Linear KeyProj;

    /// <summary>The value projection, <c>ValueSize -> NumHeads * VoSize</c>.</summary>
    public readonly Linear ValueProj;

    /// <summary>The output projection, <c>NumHeads * VoSize -> OutputSize</c>.</summary>
    public readonly Linear OutputProj;

    /// <summary>The dropout applied to the attention weights (its <see cref="Nn.Dropout.P"/> is <c>dropoutP</c>).</summary>
    public readonly Dropout Dropout;

    /// <summary>The number of heads.</summary>
    [Static] public readonly int NumHeads;

    /// <summary>The channels of each query.</summary>
    [Static] public readonly int QuerySize;

    /// <summary>The channels of each key input.</summary>
    [Static] public readonly int KeySize;

    /// <summary>The channels of each value input.</summary>
    [Static] public readonly int ValueSize;

    /// <summary>The channels of each output.</summary>
    [Static] public readonly int OutputSize;

    /// <summary>The channels each head compares queries and keys over.</summary>
    [Static] public readonly int QkSize;

    /// <summary>The channels of each head's values (and of its share of the output projection's input).</summary>
    [Static] public readonly int VoSize;

    /// <summary>Whether <see cref="QueryProj"/> has a bias.</summary>
    [Static] public readonly bool UseQueryBias;

    /// <summary>Whether <see cref="KeyProj"/> has a bias.</summary>
    [Static] public readonly bool UseKeyBias;

    /// <summary>Whether <see cref="ValueProj"/> has a bias.</summary>
    [Static] public readonly bool UseValueBias;

    /// <summary>Whether <see cref="OutputProj"/> has a bias.</summary>
    [Static] public readonly bool UseOutputBias;

    /// <summary>
    /// A layer with fresh projections drawn from <paramref name="key"/> (one split per projection), each initialised as
    /// a <see cref="Linear"/> (PyTorch's uniform ±1/√fan_in).
    /// </summary>
    /// <param name="numHeads">The number of heads.</param>
    /// <param name="querySize">The channels of each query.</param>
    /// <param name="key">The key for the initial weights.</param>
    /// <param name="keySize">The channels of each key input; the query size if null.</param>
    /// <param name="valueSize">The channels of each value input; the query size if null.</param>
    /// <param name="outputSize">The channels of each output; the query size if null.</param>
    /// <param name="qkSize">The channels each head compares over; <c>querySize / numHeads</c> if null.</param>
    /// <param name="voSize">The channels of each head's values; <c>querySize / numHeads</c> if null.</param>
    /// <param name="useQueryBias">Whether the query projection has a bias.</param>
    /// <param name="useKeyBias">Whether the key projection has a bias.</param>
    /// <param name="useValueBias">Whether the value projection has a bias.</param>
    /// <param name="useOutputBias">Whether the output projection has a bias.</param>
    /// <param name="dropoutP">The dropout probability on the attention weights.</param>
    /// <param name="inference">Whether to start in inference mode (no dropout).</param>
    /// <param name="dtype">The dtype of the weights.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size that is not positive (a default per-head size of 0 included), or a dropout probability outside [0, 1].</exception>
    public MultiheadAttention(int numHeads, int querySize, Key key, int? keySize = null, int? valueSize = null, int? outputSize = null,
        int? qkSize = null, int? voSize = null, bool useQueryBias = false, bool useKeyBias = false, bool useValueBias = false,
        bool useOutputBias = false, double dropoutP = 0, bool inference = false, DType dtype = DType.Float32)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numHeads);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(querySize);
        int k = keySize ?? querySize, v = valueSize ?? querySize, o = outputSize ?? querySize;
        int qk = qkSize ?? querySize / numHeads, vo = voSize ?? querySize / numHeads;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k, nameof(keySize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(v, nameof(valueSize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(o, nameof(outputSize));
        if (qk <= 0 || vo <= 0)
            throw new ArgumentOutOfRangeException(qk <= 0 ? nameof(qkSize) : nameof(voSize),
                $"MultiheadAttention's per-head sizes must be positive; got qkSize={qk} and voSize={vo} " +
                $"(they default to querySize / numHeads = {querySize} / {numHeads}).");
        var keys = key.Split(4);
        QueryProj = new Linear(querySize, numHeads * qk, keys[0], useQueryBias, dtype);
        KeyProj = new Linear(k, numHeads * qk, keys[1], useKeyBias, dtype);
        ValueProj = new Linear(v, numHeads * vo, keys[2], useValueBias, dtype);
        OutputProj = new Linear(numHeads * vo, o, keys[3], useOutputBias, dtype);
        Dropout = new Dropout(dropoutP, inference);
        (NumHeads, QuerySize, KeySize, ValueSize, OutputSize, QkSize, VoSize) = (numHeads, querySize, k, v, o, qk, vo);
        (UseQueryBias, UseKeyBias, UseValueBias, UseOutputBias) = (useQueryBias, useKeyBias, useValueBias, useOutputBias);
    }

    /// <summary>
    /// The layer with <c>torch.nn.MultiheadAttention</c>'s weights, from its <c>state_dict</c> (for instance
    /// <c>Eqx.LoadTensors(file)</c>): the packed <c>in_proj_weight</c> (and <c>in_proj_bias</c>) split in three, or
    /// <c>q_proj_weight</c>/<c>k_proj_weight</c>/<c>v_proj_weight</c> when the key and value sizes differ, and
    /// <c>out_proj.weight</c>/<c>out_proj.bias</c>. Names are read under <paramref name="prefix"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A weight the layer needs is not in <paramref name="stateDict"/>.</exception>
    public static MultiheadAttention FromTorch(int numHeads, IReadOnlyDictionary<string, Tensor> stateDict, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        ArgumentNullException.ThrowIfNull(prefix);
        Tensor Get(string name) => stateDict.TryGetValue(prefix + name, out var t) ? t
            : throw new ArgumentException($"MultiheadAttention.FromTorch: the state_dict has no '{prefix}{name}'; it has {string.Join(", ", stateDict.Keys.Order())}.", nameof(stateDict));
        Tensor? Optional(string name) => stateDict.TryGetValue(prefix + name, out var t) ? t : null;
        Tensor[] weights = stateDict.ContainsKey(prefix + "in_proj_weight")
            ? Get("in_proj_weight").Split(Get("in_proj_weight").Size(0) / 3)
            : [Get("q_proj_weight"), Get("k_proj_weight"), Get("v_proj_weight")];
        Tensor?[] biases = Optional("in_proj_bias") is { } packed ? packed.Split(packed.Size(0) / 3) : new Tensor?[3];
        return new MultiheadAttention(numHeads, new Linear(weights[0], biases[0]), new Linear(weights[1], biases[1]),
            new Linear(weights[2], biases[2]), new Linear(Get("out_proj.weight"), Optional("out_proj.bias")));
    }

    /// <summary>
    /// A layer with the given projections (e.g. loaded ones): the sizes and biases are read from them. For
    /// <c>torch.nn.MultiheadAttention</c>'s weights, split <c>in_proj_weight</c> (and <c>in_proj_bias</c>) in three.
    /// </summary>
    /// <exception cref="ArgumentException">The projections' sizes do not fit together for <paramref name="numHeads"/> heads.</exception>
    public MultiheadAttention(int numHeads, Linear queryProj, Linear keyProj, Linear valueProj, Linear outputProj,
        double dropoutP = 0, bool inference = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numHeads);
        ArgumentNullException.ThrowIfNull(queryProj);
        ArgumentNullException.ThrowIfNull(keyProj);
        ArgumentNullException.ThrowIfNull(valueProj);
        ArgumentNullException.ThrowIfNull(outputProj);
        Linear[] all = [queryProj, keyProj, valueProj, outputProj];
        if (all.Any(l => l.InFeatures == Linear.Scalar || l.OutFeatures == Linear.Scalar)
            || queryProj.OutFeatures != keyProj.OutFeatures || queryProj.OutFeatures % numHeads != 0
            || valueProj.OutFeatures != outputProj.InFeatures || valueProj.OutFeatures % numHeads != 0)
            throw new ArgumentException(
                $"MultiheadAttention with {numHeads} heads needs query and key projections to the same numHeads * qkSize channels, " +
                "and a value projection to the numHeads * voSize channels the output projection takes; got query " +
                $"{Sizes(queryProj)}, key {Sizes(keyProj)}, value {Sizes(valueProj)} and output {Sizes(outputProj)}.");
        (QueryProj, KeyProj, ValueProj, OutputProj) = (queryProj, keyProj, valueProj, outputProj);
        Dropout = new Dropout(dropoutP, inference);
        NumHeads = numHeads;
        (QuerySize, KeySize, ValueSize, OutputSize) = (queryProj.InFeatures, keyProj.InFeatures, valueProj.InFeatures, outputProj.OutFeatures);
        (QkSize, VoSize) = (queryProj.OutFeatures / numHeads, valueProj.OutFeatures / numHeads);
        (UseQueryBias, UseKeyBias, UseValueBias, UseOutputBias) = (queryProj.UseBias, keyProj.UseBias, valueProj.UseBias, outputProj.UseBias);

        static string Sizes(Linear l) => $"{l.InFeatures} -> {l.OutFeatures}";
    }

    private MultiheadAttention(MultiheadAttention source, Dropout dropout)
    {
        (QueryProj, KeyProj, ValueProj, OutputProj) = (source.QueryProj, source.KeyProj, source.ValueProj, source.OutputProj);
        Dropout = dropout;
        (NumHeads, QuerySize, KeySize, ValueSize, OutputSize, QkSize, VoSize) =
            (source.NumHeads, source.QuerySize, source.KeySize, source.ValueSize, source.OutputSize, source.QkSize, source.VoSize);
        (UseQueryBias, UseKeyBias, UseValueBias, UseOutputBias) = (source.UseQueryBias, source.UseKeyBias, source.UseValueBias, source.UseOutputBias);
    }

    bool IInferenceMode.Inference => (object?)Dropout is null || Dropout.Inference;

    /// <inheritdoc/>
    public IInferenceMode WithInference(bool inference) =>
        (object?)Dropout is null ? this : new MultiheadAttention(this, new Dropout(Dropout.P, inference));

    /// <summary>
    /// Attends from each query to the keys and values: <paramref name="query"/> <c>[Sq, QuerySize]</c>,
    /// <paramref name="keyInput"/> <c>[Sk, KeySize]</c> and <paramref name="value"/> <c>[Sk, ValueSize]</c> give
    /// <c>[Sq, OutputSize]</c>. A batch <c>[N, S, size]</c> of each works too (and equals mapping over the examples).
    /// </summary>
    /// <param name="query">The queries, <c>[Sq, QuerySize]</c> or <c>[N, Sq, QuerySize]</c>.</param>
    /// <param name="keyInput">The key inputs (Equinox's <c>key_</c>), <c>[Sk, KeySize]</c> or <c>[N, Sk, KeySize]</c>.</param>
    /// <param name="value">The value inputs, <c>[Sk, ValueSize]</c> or <c>[N, Sk, ValueSize]</c>.</param>
    /// <param name="mask">
    /// Optional bool mask, false where a query must not attend: <c>[Sq, Sk]</c>, or <c>[NumHeads, Sq, Sk]</c> for one
    /// per head. With a batch, those shapes are shared by every example, and <c>[N, Sq, Sk]</c> or
    /// <c>[N, NumHeads, Sq, Sk]</c> give one per example (N may be 1).
    /// </param>
    /// <param name="key">The key for dropout on the attention weights; needed outside inference mode when the dropout probability is positive.</param>
    /// <param name="processHeads">
    /// Optional function of the projected query, key and value heads (Equinox's <c>process_heads</c>), each
    /// <c>[S, NumHeads, size]</c> (<c>[N, S, NumHeads, size]</c> with a batch), returning new heads of the same shapes;
    /// e.g. <see cref="RotaryPositionalEmbedding"/> on the queries and keys.
    /// </param>
    /// <exception cref="ArgumentException">Inputs or mask of the wrong shape, no key for dropout, or heads whose shape processHeads changed.</exception>
    /// <exception cref="TreeHoleException">A projection or its weight is a hole (a filtered tree).</exception>
    public Tensor Forward(Tensor query, Tensor keyInput, Tensor value, Tensor? mask = null, Key? key = null,
        Func<Tensor, Tensor, Tensor, (Tensor Query, Tensor Key, Tensor Value)>? processHeads = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(keyInput);
        ArgumentNullException.ThrowIfNull(value);
        CheckRunnable();
        CheckInputs(query, keyInput, value);
        bool batched = query.Rank == 3;
        long queryLength = query.Size(-2), keyLength = keyInput.Size(-2);
        if (mask is not null) CheckMask(mask, batched, batched ? query.Size(0) : 1, queryLength, keyLength);
        bool dropout = !Dropout.Inference && Dropout.P > 0;
        if (dropout && key is null)
            throw new ArgumentException(
                $"{Describe()} applies dropout (p={Dropout.P}) to its attention weights, so it needs a key outside inference mode: " +
                "pass key: (split one per step), or switch the model with Eqx.InferenceMode(model) to evaluate it.", nameof(key));

        // Heads as Equinox lays them out for process_heads: [..., S, heads, size].
        var queryHeads = Heads(QueryProj.Forward(query));
        var keyHeads = Heads(KeyProj.Forward(keyInput));
        var valueHeads = Heads(ValueProj.Forward(value));
        if (processHeads is not null)
        {
            var (q, k, v) = processHeads(queryHeads, keyHeads, valueHeads);
            CheckProcessed("query", queryHeads, q);
            CheckProcessed("key", keyHeads, k);
            CheckProcessed("value", valueHeads, v);
            (queryHeads, keyHeads, valueHeads) = (q, k, v);
        }

        // [..., heads, S, size]; the query is scaled before the product, as Equinox does.
        var scaledQuery = queryHeads.Transpose(-3, -2) / Math.Sqrt(QkSize);
        var logits = scaledQuery.Matmul(keyHeads.Transpose(-3, -2).Transpose(-2, -1));
        if (mask is not null)
        {
            // A batch of 2-D masks [N, Sq, Sk] gets a heads dimension to broadcast against [N, heads, Sq, Sk].
            var shaped = batched && mask.Rank == 3 ? mask.Unsqueeze(1) : mask;
            logits = logits.MaskedFill(shaped.LogicalNot(), LowestValue(logits.DType));
        }
        var weights = Softmax(logits);
        if (dropout) weights = Functional.Dropout(weights, Dropout.P, key!.Value);
        var attended = weights.Matmul(valueHeads.Transpose(-3, -2)).Transpose(-3, -2);
        long[] flat = batched ? [attended.Size(0), queryLength, NumHeads * VoSize] : [queryLength, NumHeads * VoSize];
        return OutputProj.Forward(attended.Reshape(flat));
    }

    private Tensor Heads(Tensor projected)
    {
        long[] shape = [.. projected.Shape.ToArray()[..^1], NumHeads, projected.Size(-1) / NumHeads];
        return projected.Reshape(shape);
    }

    // Softmax in at least single precision, as Equinox: half-precision logits are upcast for it and the weights cast back.
    private static Tensor Softmax(Tensor logits)
    {
        if (logits.DType is not (DType.Float16 or DType.BFloat16)) return logits.Softmax(-1);
        using var wide = logits.To(DType.Float32);
        using var weights = wide.Softmax(-1);
        return weights.To(logits.DType);
    }

    // jnp.finfo(dtype).min: the most negative finite value, whose exponential underflows to zero next to any real logit.
    private static double LowestValue(DType dtype) => dtype switch
    {
        DType.Float16 => -65504.0,
        DType.BFloat16 => -3.3895313892515355e38,
        DType.Float32 => float.MinValue,
        _ => double.MinValue,
    };

    private void CheckInputs(Tensor query, Tensor keyInput, Tensor value)
    {
        int rank = query.Rank;
        bool ok = rank is 2 or 3 && keyInput.Rank == rank && value.Rank == rank
                  && query.Size(-1) == QuerySize && keyInput.Size(-1) == KeySize && value.Size(-1) == ValueSize
                  && keyInput.Size(-2) == value.Size(-2)
                  && (rank == 2 || (keyInput.Size(0) == query.Size(0) && value.Size(0) == query.Size(0)));
        if (ok) return;
        throw new ArgumentException(
            $"{Describe()} expects query [Sq, {QuerySize}], keyInput [Sk, {KeySize}] and value [Sk, {ValueSize}] " +
            $"(or a batch of each: [N, Sq, {QuerySize}], [N, Sk, {KeySize}], [N, Sk, {ValueSize}]), with keyInput and value " +
            $"of the same length; got query {query.Describe()}, keyInput {keyInput.Describe()} and value {value.Describe()}.", nameof(query));
    }

    private void CheckMask(Tensor mask, bool batched, long batch, long queryLength, long keyLength)
    {
        var shape = mask.Shape.ToArray();
        bool Is(params long[] expected) => shape.SequenceEqual(expected);
        bool ok = mask.DType == DType.Bool && (Is(queryLength, keyLength) || (batched
            ? shape.Length is 3 or 4 && (shape[0] == batch || shape[0] == 1)
              && (shape.Length == 3 ? Is(shape[0], queryLength, keyLength) : Is(shape[0], NumHeads, queryLength, keyLength))
            : Is(NumHeads, queryLength, keyLength)));
        if (ok) return;
        string expected = batched
            ? $"[Sq, Sk] = [{queryLength}, {keyLength}], [N, Sq, Sk] = [{batch}, {queryLength}, {keyLength}] or " +
              $"[N, heads, Sq, Sk] = [{batch}, {NumHeads}, {queryLength}, {keyLength}] (N may be 1)"
            : $"[Sq, Sk] = [{queryLength}, {keyLength}] or [heads, Sq, Sk] = [{NumHeads}, {queryLength}, {keyLength}]";
        throw new ArgumentException($"{Describe()} expects a bool mask {expected}; got {mask.Describe()}.", nameof(mask));
    }

    private static void CheckProcessed(string which, Tensor before, Tensor after)
    {
        if (after is not null && after.Shape == before.Shape) return;
        throw new ArgumentException(
            $"processHeads must not change the shape of the heads: the {which} heads were {before.Describe()} and came back " +
            $"{after?.Describe() ?? "null"}.", "processHeads");
    }

    private void CheckRunnable()
    {
        const string name = nameof(MultiheadAttention);
        CheckProjection(QueryProj, $"{name}.{nameof(QueryProj)}");
        CheckProjection(KeyProj, $"{name}.{nameof(KeyProj)}");
        CheckProjection(ValueProj, $"{name}.{nameof(ValueProj)}");
        CheckProjection(OutputProj, $"{name}.{nameof(OutputProj)}");
        if ((object?)Dropout is null) throw new TreeHoleException($"{name}.{nameof(Dropout)}");

        static void CheckProjection(Linear? projection, string where)
        {
            if (projection is null) throw new TreeHoleException(where);
            if (!projection.IsRunnable) projection.CheckRunnable(where);
        }
    }

    private string Describe() =>
        $"MultiheadAttention({NumHeads} heads; query {QuerySize}, key {KeySize}, value {ValueSize} -> {OutputSize})";
}
