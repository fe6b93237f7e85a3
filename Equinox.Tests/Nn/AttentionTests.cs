using Equinox.Nn;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Nn;

// MultiheadAttention and RotaryPositionalEmbedding against PyTorch: the attention written out with
// torch.nn.functional, torch.nn.MultiheadAttention itself, and a hand-written RoPE.
public class AttentionTests
{
    private static Tensor Normal(int seed, params long[] shape) => Tensor.Normal(Key.Create(seed), shape, DType.Float64);

    // The attention as Equinox defines it, in PyTorch: projections, heads, scaled dot products, mask, softmax,
    // weighted values, output projection. Inputs q, k, v are [S, size] (or [N, S, size]); `mask` is optional.
    private static string AttentionInPyTorch(MultiheadAttention m, bool withMask, string rope = "") =>
        $$"""
        H = {{m.NumHeads}}
        def heads(x, w, b):
            y = F.linear(x, w, b)
            return y.reshape(*y.shape[:-1], H, -1).transpose(-3, -2)
        qh, kh, vh = heads(q, wq, {{Bias(m.QueryProj, "bq")}}), heads(k, wk, {{Bias(m.KeyProj, "bk")}}), heads(v, wv, {{Bias(m.ValueProj, "bv")}})
        {{rope}}
        logits = (qh / math.sqrt(qh.shape[-1])) @ kh.transpose(-2, -1)
        {{(withMask ? "logits = logits.masked_fill(~(mask.unsqueeze(-3) if mask.dim() == q.dim() == 3 else mask), float('-inf'))" : "")}}
        attended = (logits.softmax(-1) @ vh).transpose(-3, -2)
        out = F.linear(attended.reshape(*attended.shape[:-2], -1), wo, {{Bias(m.OutputProj, "bo")}})
        """;

    private static string Bias(Linear projection, string name) => projection.UseBias ? name : "None";

    private static (string, Tensor)[] Inputs(MultiheadAttention m, Tensor q, Tensor k, Tensor v, Tensor? mask = null)
    {
        var inputs = new List<(string, Tensor)> { ("q", q), ("k", k), ("v", v) };
        if (mask is not null) inputs.Add(("mask", mask));
        foreach (var (name, projection) in new[] { ("q", m.QueryProj), ("k", m.KeyProj), ("v", m.ValueProj), ("o", m.OutputProj) })
        {
            inputs.Add(($"w{name}", projection.Weight));
            if (projection.Bias is not null) inputs.Add(($"b{name}", projection.Bias));
        }
        return inputs.ToArray();
    }

    private static MultiheadAttention Unequal(Key key, bool biases = true, double dropoutP = 0) =>
        new(3, 6, key, keySize: 5, valueSize: 4, outputSize: 7, qkSize: 2, voSize: 3, useQueryBias: biases, useKeyBias: false,
            useValueBias: biases, useOutputBias: biases, dropoutP: dropoutP, dtype: DType.Float64);

    [Test]
    public void AttentionMatchesTheFormulaInPyTorchForSeveralSizesAndBiases()
    {
        using var scope = Torch.Scope();
        var layers = new[]
        {
            new MultiheadAttention(2, 8, Key.Create(1), dtype: DType.Float64),
            Unequal(Key.Create(2)),
            new MultiheadAttention(4, 8, Key.Create(3), useQueryBias: true, useKeyBias: true, useValueBias: true, useOutputBias: true, dtype: DType.Float64),
        };
        foreach (var m in layers)
        {
            var q = Normal(10, 3, m.QuerySize);
            var k = Normal(11, 5, m.KeySize);
            var v = Normal(12, 5, m.ValueSize);
            var expected = PyTorchOracle.Run(AttentionInPyTorch(m, false), Inputs(m, q, k, v));
            OracleAssert.Close(m.Forward(q, k, v), expected.Out, what: $"{m.NumHeads} heads, query {m.QuerySize}, key {m.KeySize}");
        }
    }

    [Test]
    public void AttentionGradientsMatchPyTorchForEveryProjectionAndInput()
    {
        using var scope = Torch.Scope();
        var m = Eqx.TreeMap(Unequal(Key.Create(4)), t => t.WithRequiresGrad());
        var q = Normal(13, 3, 6).WithRequiresGrad();
        var k = Normal(14, 4, 5).WithRequiresGrad();
        var v = Normal(15, 4, 4).WithRequiresGrad();
        var mask = Normal(16, 3, 4) > -0.5;
        var seed = Normal(17, 3, 7);

        var output = m.Forward(q, k, v, mask);
        Tensor[] wrt = [q, k, v, .. Eqx.Leaves(m)];
        var grads = Autograd.Grad((output * seed).Sum(), wrt);

        var expected = PyTorchOracle.RunWithGrad(AttentionInPyTorch(m, true), seed, Inputs(m, q, k, v, mask));
        OracleAssert.Close(output, expected.Out);
        OracleAssert.Grads(expected, grads, "q", "k", "v", "wq", "bq", "wk", "wv", "bv", "wo", "bo");
    }

    [Test]
    public void AMaskPerHeadHidesDifferentKeysFromEachHead()
    {
        using var scope = Torch.Scope();
        var m = Unequal(Key.Create(5));
        var q = Normal(18, 4, 6);
        var kv = Normal(19, 5, 5);
        var v = Normal(20, 5, 4);
        var perHead = Normal(21, 3, 4, 5) > 0.0;
        perHead = perHead | (Tensor.Arange(5).Eq(0L)); // every query sees key 0, so no row is fully masked
        var expected = PyTorchOracle.Run(AttentionInPyTorch(m, true), Inputs(m, q, kv, v, perHead));
        OracleAssert.Close(m.Forward(q, kv, v, perHead), expected.Out);

        var shared = perHead.Select(0, 1);
        var expectedShared = PyTorchOracle.Run(AttentionInPyTorch(m, true), Inputs(m, q, kv, v, shared));
        OracleAssert.Close(m.Forward(q, kv, v, shared), expectedShared.Out);
    }

    [Test]
    public void AQueryThatMaySeeNothingAveragesTheValuesInsteadOfGivingNaN()
    {
        using var scope = Torch.Scope();
        var m = new MultiheadAttention(2, 4, Key.Create(6), dtype: DType.Float64);
        var x = Normal(22, 3, 4);
        var mask = Tensor.FromArray(new[] { true, true, false, false, false, false, true, false, true }, 3, 3);
        // Equinox fills masked logits with the dtype's lowest value, not -inf: a fully masked row is a uniform average.
        const string python = """
            H = 2
            heads = lambda x, w: F.linear(x, w).reshape(x.shape[0], H, -1).transpose(0, 1)
            qh, kh, vh = heads(x, wq), heads(x, wk), heads(x, wv)
            logits = ((qh / math.sqrt(qh.shape[-1])) @ kh.transpose(-2, -1)).masked_fill(~mask, torch.finfo(x.dtype).min)
            out = F.linear((logits.softmax(-1) @ vh).transpose(0, 1).reshape(x.shape[0], -1), wo)
            """;
        var expected = PyTorchOracle.Run(python, ("x", x), ("mask", mask), ("wq", m.QueryProj.Weight), ("wk", m.KeyProj.Weight),
            ("wv", m.ValueProj.Weight), ("wo", m.OutputProj.Weight));
        var y = m.Forward(x, x, x, mask);
        OracleAssert.Close(y, expected.Out);
        Assert.That(y.IsNan().Any().Item<bool>(), Is.False);
        var average = m.OutputProj.Forward(m.ValueProj.Forward(x).Mean(0));
        Assert.That(y.Select(0, 1).ToArray<double>(), Is.EqualTo(average.ToArray<double>()).Within(1e-12), "the masked row averages every value");
    }

    [Test]
    public void HalfPrecisionAttentionTakesItsSoftmaxInSinglePrecisionAndKeepsItsDtype()
    {
        using var scope = Torch.Scope();
        var m = new MultiheadAttention(2, 8, Key.Create(17), useOutputBias: true);
        var x = Tensor.Normal(Key.Create(45), [4, 8]);
        var mask = Tensor.Ones([4, 4], DType.Bool).Tril();
        var half = Eqx.TreeMap(m, t => t.To(DType.BFloat16));
        var y = half.Forward(x.To(DType.BFloat16), x.To(DType.BFloat16), x.To(DType.BFloat16), mask);
        Assert.That(y.DType, Is.EqualTo(DType.BFloat16));
        Assert.That(y.To(DType.Float32).ToArray<float>(), Is.EqualTo(m.Forward(x, x, x, mask).ToArray<float>()).Within(0.05));
    }

    [Test]
    public void WithEqualSizesAndBiasesItIsTorchMultiheadAttention()
    {
        using var scope = Torch.Scope();
        var m = new MultiheadAttention(2, 8, Key.Create(7), useQueryBias: true, useKeyBias: true, useValueBias: true, useOutputBias: true,
            dtype: DType.Float64);
        const string python = """
            mha = torch.nn.MultiheadAttention(8, 2, batch_first=True, dtype=torch.float64)
            with torch.no_grad():
                mha.in_proj_weight.copy_(torch.cat([wq, wk, wv]))
                mha.in_proj_bias.copy_(torch.cat([bq, bk, bv]))
                mha.out_proj.weight.copy_(wo)
                mha.out_proj.bias.copy_(bo)
            mask = globals().get('mask')
            if mask is not None and mask.dim() == 4:
                mask = mask.reshape(-1, *mask.shape[2:])  # torch takes [N * heads, Sq, Sk], batch-major
            out = mha(q, k, v, attn_mask=None if mask is None else ~mask, need_weights=False)[0]
            """;

        var q = Normal(23, 3, 8);
        var k = Normal(24, 5, 8);
        var v = Normal(25, 5, 8);
        OracleAssert.Close(m.Forward(q, k, v), PyTorchOracle.Run(python, Inputs(m, q, k, v)).Out, what: "one example");

        var causal = Tensor.Ones([5, 5], DType.Bool).Tril();
        var x = Normal(26, 5, 8);
        OracleAssert.Close(m.Forward(x, x, x, causal), PyTorchOracle.Run(python, Inputs(m, x, x, x, causal)).Out, what: "causal self-attention");

        var qs = Normal(27, 4, 3, 8);
        var ks = Normal(28, 4, 5, 8);
        var vs = Normal(29, 4, 5, 8);
        OracleAssert.Close(m.Forward(qs, ks, vs), PyTorchOracle.Run(python, Inputs(m, qs, ks, vs)).Out, what: "a batch");

        var perExampleAndHead = (Normal(30, 4, 2, 3, 5) > 0.0) | Tensor.Arange(5).Eq(4L);
        OracleAssert.Close(m.Forward(qs, ks, vs, perExampleAndHead), PyTorchOracle.Run(python, Inputs(m, qs, ks, vs, perExampleAndHead)).Out,
            what: "a batch with a mask per example and head");
    }

    [Test]
    public void ABatchEqualsFilterVmapOverTheExamples()
    {
        using var scope = Torch.Scope();
        var m = Unequal(Key.Create(8));
        var qs = Normal(31, 4, 3, 6);
        var ks = Normal(32, 4, 5, 5);
        var vs = Normal(33, 4, 5, 4);
        var shared = (Normal(34, 3, 5) > 0.0) | Tensor.Arange(5).Eq(0L);

        var mapped = Eqx.FilterVmap((Tensor q, Tensor k, Tensor v) => m.Forward(q, k, v, shared))(qs, ks, vs);
        Assert.That(mapped.Shape, Is.EqualTo(new long[] { 4, 3, 7 }));
        Assert.That(m.Forward(qs, ks, vs, shared).ToArray<double>(), Is.EqualTo(mapped.ToArray<double>()).Within(1e-12));

        // A mask per example: [N, Sq, Sk] batched, [Sq, Sk] per example; and [N, heads, Sq, Sk] against [heads, Sq, Sk].
        var self = new MultiheadAttention(2, 6, Key.Create(9), dtype: DType.Float64);
        var xs = Normal(35, 4, 5, 6);
        foreach (var mask in new[] { (Normal(36, 4, 5, 5) > 0.0) | Tensor.Eye(5, dtype: DType.Bool), (Normal(37, 4, 2, 5, 5) > 0.0) | Tensor.Eye(5, dtype: DType.Bool) })
        {
            var perExample = Eqx.FilterVmap((Tensor x, Tensor mk) => self.Forward(x, x, x, mk))(xs, mask);
            Assert.That(self.Forward(xs, xs, xs, mask).ToArray<double>(), Is.EqualTo(perExample.ToArray<double>()).Within(1e-12),
                $"mask {mask.Describe()}");
        }
        var first = (Normal(36, 4, 5, 5) > 0.0) | Tensor.Eye(5, dtype: DType.Bool);
        var oneForAll = first.Narrow(0, 0, 1);
        Assert.That(self.Forward(xs, xs, xs, oneForAll).ToArray<double>(),
            Is.EqualTo(self.Forward(xs, xs, xs, oneForAll.Squeeze(0)).ToArray<double>()).Within(1e-12), "a batch of one mask is shared");
    }

    [Test]
    public void TheDefaultsAreEquinoxsNoBiasesAndPerHeadSizesOfQueryOverHeads()
    {
        using var scope = Torch.Scope();
        var m = new MultiheadAttention(4, 16, Key.Create(10));
        Assert.That((m.KeySize, m.ValueSize, m.OutputSize, m.QkSize, m.VoSize), Is.EqualTo((16, 16, 16, 4, 4)));
        Assert.That(Eqx.LeavesWithPaths(m).Where(p => p.Leaf is not null).Select(p => p.Path.StateDictKey),
            Is.EqualTo(new[] { "query_proj.weight", "key_proj.weight", "value_proj.weight", "output_proj.weight" }));
        Assert.That(Eqx.LeafCount(m), Is.EqualTo(8), "each projection has a (null) bias slot");
        foreach (var projection in new[] { m.QueryProj, m.KeyProj, m.ValueProj, m.OutputProj })
        {
            Assert.That(projection.Weight.Shape, Is.EqualTo(new long[] { 16, 16 }));
            Assert.That(projection.Weight.Abs().Max().Item<float>(), Is.LessThanOrEqualTo(0.25f).And.GreaterThan(0.2f), "PyTorch's ±1/√fan_in");
        }
        Assert.That(m.QueryProj.Weight.ToArray<float>(), Is.Not.EqualTo(m.KeyProj.Weight.ToArray<float>()), "one key per projection");
        Assert.That(m.Forward(Tensor.Ones(2, 16), Tensor.Ones(3, 16), Tensor.Ones(3, 16)).Shape, Is.EqualTo(new long[] { 2, 16 }));

        var u = Unequal(Key.Create(11));
        Assert.That(u.QueryProj.Weight.Shape, Is.EqualTo(new long[] { 6, 6 }));
        Assert.That(u.KeyProj.Weight.Shape, Is.EqualTo(new long[] { 6, 5 }));
        Assert.That(u.ValueProj.Weight.Shape, Is.EqualTo(new long[] { 9, 4 }));
        Assert.That(u.OutputProj.Weight.Shape, Is.EqualTo(new long[] { 7, 9 }));
        Assert.That(u.ToString(), Does.StartWith(
                "MultiheadAttention(\n  queryProj=Linear(\n    weight=f64[6,6],\n    bias=f64[6],\n    inFeatures=6,\n    outFeatures=6,\n" +
                "    useBias=true,\n  ),\n  keyProj=Linear(\n    weight=f64[6,5],\n    bias=null,\n")
            .And.EndWith(
                "  dropout=Dropout(p=0.0, inference=false),\n  numHeads=3,\n  querySize=6,\n  keySize=5,\n  valueSize=4,\n  outputSize=7,\n" +
                "  qkSize=2,\n  voSize=3,\n  useQueryBias=true,\n  useKeyBias=false,\n  useValueBias=true,\n  useOutputBias=true,\n)"));

        var tooManyHeads = Assert.Throws<ArgumentOutOfRangeException>(() => new MultiheadAttention(5, 4, Key.Create(1)))!;
        Assert.That(tooManyHeads.Message, Does.StartWith(
            "MultiheadAttention's per-head sizes must be positive; got qkSize=0 and voSize=0 (they default to querySize / numHeads = 4 / 5)."));
    }

    [Test]
    public void ItCanBeBuiltFromLoadedProjectionsAndChecksThatTheyFit()
    {
        using var scope = Torch.Scope();
        var m = Unequal(Key.Create(12));
        var rebuilt = new MultiheadAttention(3, m.QueryProj, m.KeyProj, m.ValueProj, m.OutputProj);
        Assert.That(((ITreeNode)rebuilt).TreeStaticEquals(m), Is.True);
        var q = Normal(38, 2, 6);
        var kv = Normal(39, 3, 5);
        var v = Normal(40, 3, 4);
        Assert.That(rebuilt.Forward(q, kv, v).ToArray<double>(), Is.EqualTo(m.Forward(q, kv, v).ToArray<double>()));

        var e = Assert.Throws<ArgumentException>(() => new MultiheadAttention(4, m.QueryProj, m.KeyProj, m.ValueProj, m.OutputProj))!;
        Assert.That(e.Message, Does.StartWith(
            "MultiheadAttention with 4 heads needs query and key projections to the same numHeads * qkSize channels, and a value " +
            "projection to the numHeads * voSize channels the output projection takes; got query 6 -> 6, key 5 -> 6, value 4 -> 9 and output 9 -> 7."));
    }

    [Test]
    public void DropoutOnTheWeightsNeedsAKeyOutsideInferenceModeAndIsOffInIt()
    {
        using var scope = Torch.Scope();
        var m = Unequal(Key.Create(13), dropoutP: 0.5);
        var q = Normal(41, 3, 6);
        var k = Normal(42, 4, 5);
        var v = Normal(43, 4, 4);

        var e = Assert.Throws<ArgumentException>(() => m.Forward(q, k, v))!;
        Assert.That(e.Message, Does.StartWith(
            "MultiheadAttention(3 heads; query 6, key 5, value 4 -> 7) applies dropout (p=0.5) to its attention weights, so it needs " +
            "a key outside inference mode: pass key: (split one per step), or switch the model with Eqx.InferenceMode(model) to evaluate it."));

        var noDropout = Unequal(Key.Create(13)).Forward(q, k, v).ToArray<double>();
        var a = m.Forward(q, k, v, key: Key.Create(1)).ToArray<double>();
        Assert.That(m.Forward(q, k, v, key: Key.Create(1)).ToArray<double>(), Is.EqualTo(a), "the same key drops the same weights");
        Assert.That(a, Is.Not.EqualTo(noDropout).Within(1e-6));

        var evaluated = Eqx.InferenceMode(m);
        Assert.That(((IInferenceMode)evaluated).Inference, Is.True);
        Assert.That(evaluated.Dropout.Inference, Is.True);
        Assert.That(evaluated.Forward(q, k, v).ToArray<double>(), Is.EqualTo(noDropout));
        var training = Eqx.InferenceMode(evaluated, false);
        Assert.That(((IInferenceMode)training).Inference, Is.False);
        Assert.That(training.Dropout.Inference, Is.False);

        // Every weight dropped: the heads give zeros and only the output bias is left.
        var all = Unequal(Key.Create(13), dropoutP: 1).Forward(q, k, v, key: Key.Create(2));
        Assert.That(all.ToArray<double>(), Is.EqualTo(m.OutputProj.Bias!.Unsqueeze(0).Expand(3, 7).ToArray<double>()));
    }

    [Test]
    public void WrongShapesAreRejectedNamingWhatItExpectsAndWhatItGot()
    {
        using var scope = Torch.Scope();
        var m = new MultiheadAttention(2, 4, Key.Create(14), keySize: 3, valueSize: 5);
        const string prefix = "MultiheadAttention(2 heads; query 4, key 3, value 5 -> 4) expects query [Sq, 4], keyInput [Sk, 3] and value [Sk, 5] " +
                              "(or a batch of each: [N, Sq, 4], [N, Sk, 3], [N, Sk, 5]), with keyInput and value of the same length; got ";
        string Error(Tensor q, Tensor k, Tensor v, Tensor? mask = null) => Assert.Throws<ArgumentException>(() => m.Forward(q, k, v, mask))!.Message;

        Assert.That(Error(Tensor.Zeros(2, 5), Tensor.Zeros(3, 3), Tensor.Zeros(3, 5)),
            Does.StartWith(prefix + "query f32[2,5], keyInput f32[3,3] and value f32[3,5]."));
        Assert.That(Error(Tensor.Zeros(2, 4), Tensor.Zeros(3, 3), Tensor.Zeros(4, 5)),
            Does.StartWith(prefix + "query f32[2,4], keyInput f32[3,3] and value f32[4,5]."), "key and value lengths differ");
        Assert.That(Error(Tensor.Zeros(2, 4), Tensor.Zeros(1, 3, 3), Tensor.Zeros(1, 3, 5)),
            Does.StartWith(prefix + "query f32[2,4], keyInput f32[1,3,3] and value f32[1,3,5]."), "batched and not");
        Assert.That(Error(Tensor.Zeros(2, 2, 4), Tensor.Zeros(3, 3, 3), Tensor.Zeros(3, 3, 5)),
            Does.StartWith(prefix + "query f32[2,2,4], keyInput f32[3,3,3] and value f32[3,3,5]."), "batch sizes differ");
        Assert.That(Error(Tensor.Zeros(4), Tensor.Zeros(3), Tensor.Zeros(5)),
            Does.StartWith(prefix + "query f32[4], keyInput f32[3] and value f32[5]."), "no sequence dimension");

        var (q2, k2, v2) = (Tensor.Zeros(2, 4), Tensor.Zeros(3, 3), Tensor.Zeros(3, 5));
        Assert.That(Error(q2, k2, v2, Tensor.Ones([3, 2], DType.Bool)), Does.StartWith(
            "MultiheadAttention(2 heads; query 4, key 3, value 5 -> 4) expects a bool mask [Sq, Sk] = [2, 3] or [heads, Sq, Sk] = [2, 2, 3]; got bool[3,2]."));
        Assert.That(Error(q2, k2, v2, Tensor.Ones(2, 3)), Does.StartWith(
            "MultiheadAttention(2 heads; query 4, key 3, value 5 -> 4) expects a bool mask [Sq, Sk] = [2, 3] or [heads, Sq, Sk] = [2, 2, 3]; got f32[2,3]."));
        Assert.That(Error(Tensor.Zeros(6, 2, 4), Tensor.Zeros(6, 3, 3), Tensor.Zeros(6, 3, 5), Tensor.Ones([2, 2, 3], DType.Bool)), Does.StartWith(
            "MultiheadAttention(2 heads; query 4, key 3, value 5 -> 4) expects a bool mask [Sq, Sk] = [2, 3], [N, Sq, Sk] = [6, 2, 3] or " +
            "[N, heads, Sq, Sk] = [6, 2, 2, 3] (N may be 1); got bool[2,2,3]."));

        var changed = Assert.Throws<ArgumentException>(() => m.Forward(q2, k2, v2, processHeads: (q, k, v) => (q, k.Narrow(0, 0, 2), v)))!;
        Assert.That(changed.Message, Does.StartWith(
            "processHeads must not change the shape of the heads: the key heads were f32[3,2,2] and came back f32[2,2,2]."));
    }

    [Test]
    public void AMissingProjectionOrWeightIsAHoleNamedByItsPath()
    {
        using var scope = Torch.Scope();
        var m = new MultiheadAttention(2, 4, Key.Create(15));
        var x = Tensor.Zeros(3, 4);
        var noKeyProj = Eqx.TreeAt(m, a => a.KeyProj, (Linear)null!);
        Assert.That(Assert.Throws<TreeHoleException>(() => noKeyProj.Forward(x, x, x))!.Path, Is.EqualTo("MultiheadAttention.KeyProj"));
        var leaves = Eqx.Flatten(m);
        leaves[6] = null; // OutputProj.Weight (each projection has a weight and a bias slot)
        Assert.That(Assert.Throws<TreeHoleException>(() => Eqx.Unflatten(m, leaves).Forward(x, x, x))!.Path,
            Is.EqualTo("MultiheadAttention.OutputProj.Weight"));
    }

    [Test]
    public void ProcessHeadsWithRotaryEmbeddingsMatchesRoPEAppliedToTheHeadsInPyTorch()
    {
        using var scope = Torch.Scope();
        var m = new MultiheadAttention(2, 8, Key.Create(16), useQueryBias: true, dtype: DType.Float64);
        var rope = new RotaryPositionalEmbedding(4, dtype: DType.Float64);
        var x = Normal(44, 5, 8);
        // Heads come as [S, heads, size]; RoPE rotates along the sequence, so the heads go in front for it.
        Tensor Rotate(Tensor heads) => rope.Forward(heads.Transpose(-3, -2)).Transpose(-3, -2);
        var y = m.Forward(x, x, x, processHeads: (q, k, v) => (Rotate(q), Rotate(k), v));

        const string rotate = """
            def rope(x):
                S, E = x.shape[-2], x.shape[-1]
                angles = torch.arange(S, dtype=torch.float64)[:, None] * (1.0 / 10000 ** (torch.arange(0, E, 2, dtype=torch.float64) / E))[None, :]
                cos, sin = angles.cos().repeat(1, 2), angles.sin().repeat(1, 2)
                return x * cos + torch.cat([-x[..., E // 2:], x[..., :E // 2]], -1) * sin
            qh, kh = rope(qh), rope(kh)
            """;
        var expected = PyTorchOracle.Run(AttentionInPyTorch(m, false, rotate), Inputs(m, x, x, x));
        OracleAssert.Close(y, expected.Out);
        Assert.That(y.ToArray<double>(), Is.Not.EqualTo(m.Forward(x, x, x).ToArray<double>()).Within(1e-6), "the rotation changes the result");
    }

    // ---- RotaryPositionalEmbedding ----

    private const string RopeInPyTorch = """
        S, E = x.shape[-2], x.shape[-1]
        freqs = 1.0 / theta ** (torch.arange(0, E, 2, dtype=torch.float64) / E)
        angles = torch.outer(torch.arange(S, dtype=torch.float64), freqs)
        cos, sin = torch.cat([angles.cos(), angles.cos()], -1), torch.cat([angles.sin(), angles.sin()], -1)
        rotated = torch.cat([-x[..., E // 2:], x[..., :E // 2]], -1)
        out = x * cos + rotated * sin
        """;

    [Test]
    public void RotaryEmbeddingMatchesTheRotateHalvesFormulaInPyTorch()
    {
        using var scope = Torch.Scope();
        foreach (var (size, theta, shape) in new (int, double, long[])[] { (8, 10_000, [6, 8]), (4, 500, [3, 7, 4]), (2, 10_000, [2, 3, 5, 2]) })
        {
            var rope = new RotaryPositionalEmbedding(size, theta, DType.Float64);
            var x = Normal(50, shape);
            var expected = PyTorchOracle.Run(RopeInPyTorch, ("x", x), ("theta", Tensor.Scalar(theta)));
            OracleAssert.Close(rope.Forward(x), expected.Out, what: $"RoPE({size}, theta {theta}) on {x.Describe()}");
        }
    }

    [Test]
    public void RotaryEmbeddingMakesQueryKeyProductsDependOnlyOnTheOffset()
    {
        using var scope = Torch.Scope();
        var rope = new RotaryPositionalEmbedding(6, dtype: DType.Float64);
        const int length = 7;
        // The same query and key at every position: after RoPE, q_i · k_j is a function of i - j alone.
        var q = Normal(51, 1, 6).Expand(length, 6);
        var k = Normal(52, 1, 6).Expand(length, 6);
        var scores = rope.Forward(q).Matmul(rope.Forward(k).T).ToArray<double>();
        for (int offset = -(length - 1); offset < length; offset++)
        {
            var diagonal = Enumerable.Range(0, length).Where(i => i - offset >= 0 && i - offset < length)
                .Select(i => scores[i * length + i - offset]).ToArray();
            Assert.That(diagonal, Is.All.EqualTo(diagonal[0]).Within(1e-12), $"offset {offset}");
        }
        Assert.That(scores[1], Is.Not.EqualTo(scores[0]).Within(1e-6), "different offsets give different products");

        // A rotation keeps each pair's length, so each vector's norm.
        var x = Normal(53, length, 6);
        Assert.That(rope.Forward(x).Square().Sum(1).ToArray<double>(), Is.EqualTo(x.Square().Sum(1).ToArray<double>()).Within(1e-12));
        Assert.That(rope.Forward(x).Select(0, 0).ToArray<double>(), Is.EqualTo(x.Select(0, 0).ToArray<double>()), "position 0 is not rotated");
    }

    [Test]
    public void RotaryEmbeddingKeepsTheInputDtypeAndRoundsItsTablesToItsOwn()
    {
        using var scope = Torch.Scope();
        var x64 = Normal(54, 5, 8);
        var x32 = x64.To(DType.Float32);
        var exact = new RotaryPositionalEmbedding(8, dtype: DType.Float64).Forward(x64);
        var single = new RotaryPositionalEmbedding(8).Forward(x32);
        Assert.That(single.DType, Is.EqualTo(DType.Float32));
        Assert.That(single.ToArray<float>().Select(v => (double)v), Is.EqualTo(exact.ToArray<double>()).Within(1e-5));
        var mixed = new RotaryPositionalEmbedding(8, dtype: DType.Float64).Forward(x32);
        Assert.That(mixed.DType, Is.EqualTo(DType.Float32));
    }

    [Test]
    public void RotaryEmbeddingOnABatchEqualsFilterVmapAndPrintsItsOptions()
    {
        using var scope = Torch.Scope();
        var rope = new RotaryPositionalEmbedding(4, dtype: DType.Float64);
        var xs = Normal(55, 3, 5, 4);
        var mapped = Eqx.FilterVmap((Tensor x) => rope.Forward(x))(xs);
        Assert.That(rope.Forward(xs).ToArray<double>(), Is.EqualTo(mapped.ToArray<double>()).Within(1e-15));
        Assert.That(Eqx.LeafCount(rope), Is.Zero);
        Assert.That(rope.ToString(), Is.EqualTo("RotaryPositionalEmbedding(embeddingSize=4, theta=10000.0, dType=Float64)"));
    }

    [Test]
    public void RotaryEmbeddingRejectsAnOddSizeAndAnInputOfTheWrongWidth()
    {
        using var scope = Torch.Scope();
        var odd = Assert.Throws<ArgumentOutOfRangeException>(() => new RotaryPositionalEmbedding(5))!;
        Assert.That(odd.Message, Does.StartWith(
            "RotaryPositionalEmbedding rotates pairs of elements, so embeddingSize must be even (and not negative); got 5."));
        var rope = new RotaryPositionalEmbedding(4);
        Assert.That(Assert.Throws<ArgumentException>(() => rope.Forward(Tensor.Zeros(3, 6)))!.Message,
            Does.StartWith("RotaryPositionalEmbedding(4) expects [S, 4] (or [..., S, 4]); got f32[3,6]."));
        Assert.That(Assert.Throws<ArgumentException>(() => rope.Forward(Tensor.Zeros(4)))!.Message,
            Does.StartWith("RotaryPositionalEmbedding(4) expects [S, 4] (or [..., S, 4]); got f32[4]."));
    }
}
