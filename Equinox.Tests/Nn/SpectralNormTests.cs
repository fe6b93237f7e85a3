using Equinox.Nn;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Nn;

// SpectralNorm against PyTorch's spectral normalisation, started from the same power-iteration vectors.
public class SpectralNormTests
{
    private static Tensor Normal(int seed, params long[] shape) => Tensor.Normal(Key.Create(seed), shape, DType.Float64);

    private static (SpectralNorm<Linear> Model, State State) Wrapped(int seed, int inFeatures = 6, int outFeatures = 4, int iterations = 1) =>
        Eqx.MakeWithState(new SpectralNorm<Linear>(
            new Linear(inFeatures, outFeatures, Key.Create(seed), dtype: DType.Float64), Key.Create(seed + 1), numPowerIterations: iterations));

    // torch.nn.utils.parametrizations.spectral_norm's own module, given our vectors, called `calls` times in training.
    private const string TorchParametrization = """
        lin = torch.nn.Linear(w.shape[1], w.shape[0], dtype=w.dtype)
        sn = torch.nn.utils.parametrizations.spectral_norm(lin, n_power_iterations=int(iterations)).parametrizations.weight[0]
        with torch.no_grad():
            sn._u.copy_(u)
            sn._v.copy_(v)
        outs = [F.linear(x, sn(w), b) for _ in range(int(calls))]
        out = (torch.stack(outs), sn._u, sn._v)
        """;

    [Test]
    public void TrainingStepsMatchPyTorchsSpectralNormFromTheSameVectors()
    {
        using var scope = Torch.Scope();
        foreach (var iterations in new[] { 1, 3 })
        {
            var (model, state) = Wrapped(1, iterations: iterations);
            var vectors = state.Get(model.Vectors);
            var x = Normal(3, 5, 6);
            var expected = PyTorchOracle.Run(TorchParametrization, ("x", x), ("w", model.Layer.Weight), ("b", model.Layer.Bias!),
                ("u", vectors[0]), ("v", vectors[1]), ("iterations", Tensor.Scalar(iterations, DType.Int64)), ("calls", Tensor.Scalar(4L)));

            var outputs = new List<Tensor>();
            for (int call = 0; call < 4; call++)
            {
                (var y, state) = model.Forward(x, state);
                outputs.Add(y);
            }
            OracleAssert.Close(Tensor.Stack(outputs.ToArray()), expected.Outputs[0], what: $"outputs, {iterations} iterations per call");
            var final = state.Get(model.Vectors);
            OracleAssert.Close(final[0], expected.Outputs[1], what: "u");
            OracleAssert.Close(final[1], expected.Outputs[2], what: "v");
        }
    }

    [Test]
    public void GradientsFlowThroughSigmaButNotThePowerIterationAsInPyTorch()
    {
        using var scope = Torch.Scope();
        var (model, state) = Wrapped(4);
        var vectors = state.Get(model.Vectors);
        var w = model.Layer.Weight.WithRequiresGrad();
        var b = model.Layer.Bias!.WithRequiresGrad();
        var x = Normal(5, 3, 6).WithRequiresGrad();
        var trained = Eqx.TreeAt(model, m => m.Layer, new Linear(w, b));
        var (y, _) = trained.Forward(x, state);
        var seed = Normal(6, 3, 4);
        var grads = Autograd.Grad((y * seed).Sum(), w, b, x);

        const string python = """
            lin = torch.nn.Linear(6, 4, dtype=torch.float64)
            sn = torch.nn.utils.parametrizations.spectral_norm(lin).parametrizations.weight[0]
            with torch.no_grad():
                sn._u.copy_(u)
                sn._v.copy_(v)
            out = F.linear(x, sn(w), b)
            """;
        var expected = PyTorchOracle.RunWithGrad(python, seed, ("x", x), ("w", w), ("b", b), ("u", vectors[0]), ("v", vectors[1]));
        OracleAssert.Close(y, expected.Out);
        OracleAssert.Grads(expected, grads, "w", "b", "x");
    }

    [Test]
    public void ManyStepsFindTheLargestSingularValueAsTorchSpectralNormDoesFromTheSameU()
    {
        using var scope = Torch.Scope();
        var (model, state) = Wrapped(7, inFeatures: 5, outFeatures: 3);
        var initialU = state.Get(model.Vectors)[0];
        var x = Normal(8, 2, 5);
        Tensor y = null!;
        for (int i = 0; i < 100; i++) (y, state) = model.Forward(x, state);
        var uv = state.Get(model.Vectors);
        var sigma = uv[0].Matmul(model.Layer.Weight.Matmul(uv[1]));

        // The older torch.nn.utils.spectral_norm steps v before u, so its path differs; both reach the top singular pair.
        const string python = """
            lin = torch.nn.Linear(5, 3, dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(w)
                lin.bias.copy_(b)
            lin = torch.nn.utils.spectral_norm(lin)
            with torch.no_grad():
                lin.weight_u.copy_(u)
            for _ in range(100):
                y = lin(x)
            out = (y, torch.linalg.svdvals(w)[0])
            """;
        var expected = PyTorchOracle.Run(python, ("x", x), ("w", model.Layer.Weight), ("b", model.Layer.Bias!), ("u", initialU));
        OracleAssert.Close(sigma, expected.Outputs[1], rtol: 1e-9, what: "sigma against the largest singular value");
        OracleAssert.Close(y, expected.Outputs[0], rtol: 1e-8, atol: 1e-10, what: "output against torch.nn.utils.spectral_norm");
        Assert.That(model.Forward(x, state).Output.ToArray<double>(),
            Is.EqualTo(model.Layer.Forward(x).Sub(model.Layer.Bias!).Div(sigma).Add(model.Layer.Bias!).ToArray<double>()).Within(1e-10),
            "the layer runs with W / sigma");
    }

    [Test]
    public void TheInitialVectorsAreAlreadyRefinedByFifteenSteps()
    {
        using var scope = Torch.Scope();
        var (model, state) = Wrapped(9, inFeatures: 8, outFeatures: 8);
        var uv = state.Get(model.Vectors);
        Assert.That(uv[0].Shape, Is.EqualTo(new long[] { 8 }));
        Assert.That(uv[1].Shape, Is.EqualTo(new long[] { 8 }));
        Assert.That(uv[0].DType, Is.EqualTo(DType.Float64));
        Assert.That(uv[0].Square().Sum().Item<double>(), Is.EqualTo(1).Within(1e-12));
        Assert.That(uv[1].Square().Sum().Item<double>(), Is.EqualTo(1).Within(1e-12));
        var w = model.Layer.Weight;
        // After 15 steps v is (nearly) a fixed point of v -> Wᵀ W v / ‖Wᵀ W v‖.
        var next = w.T.Matmul(w.Matmul(uv[1]));
        var cosine = next.Matmul(uv[1]).Item<double>() / next.Square().Sum().Sqrt().Item<double>();
        Assert.That(cosine, Is.GreaterThan(0.99));
    }

    [Test]
    public void InferenceModeLeavesTheVectorsAloneAndUsesThem()
    {
        using var scope = Torch.Scope();
        var (model, state) = Wrapped(10);
        var x = Normal(11, 2, 6);
        (_, state) = model.Forward(x, state);
        var evaluated = Eqx.InferenceMode(model);
        Assert.That(((IInferenceMode)evaluated).Inference, Is.True);
        var before = state.Get(model.Vectors);
        var (y, after) = evaluated.Forward(x, state);
        Assert.That(after, Is.SameAs(state), "no new state in inference");
        Assert.That(after.Get(model.Vectors)[0], Is.SameAs(before[0]));

        const string python = """
            lin = torch.nn.Linear(6, 4, dtype=torch.float64)
            sn = torch.nn.utils.parametrizations.spectral_norm(lin).parametrizations.weight[0]
            with torch.no_grad():
                sn._u.copy_(u)
                sn._v.copy_(v)
            sn.eval()
            out = F.linear(x, sn(w), b)
            """;
        var expected = PyTorchOracle.Run(python, ("x", x), ("w", model.Layer.Weight), ("b", model.Layer.Bias!), ("u", before[0]), ("v", before[1]));
        OracleAssert.Close(y, expected.Out);
        Assert.That(((IInferenceMode)Eqx.InferenceMode(evaluated, false)).Inference, Is.False);

        // In inference the state does not change, so mapping over examples equals the batched call.
        var xs = Normal(12, 5, 6);
        var mapped = Eqx.FilterVmap((Tensor e) => evaluated.Forward(e, state).Output)(xs);
        Assert.That(evaluated.Forward(xs, state).Output.ToArray<double>(), Is.EqualTo(mapped.ToArray<double>()).Within(1e-12));
    }

    [Test]
    public void ItNormalisesAWeightNamedByItsPathInsideALargerLayerAndRunsInSequential()
    {
        using var scope = Torch.Scope();
        var mlp = new Mlp(3, 2, 5, 2, dtype: DType.Float64, key: Key.Create(13));
        var (model, state) = Eqx.MakeWithState(new Sequential(
            new SpectralNorm<Mlp>(mlp, Key.Create(14), weightName: "Layers[1].Weight"),
            new Lambda(t => t.Tanh())));
        Assert.That(state.Entries.Keys, Is.EqualTo(new[] { "Layers[0].Vectors" }));
        var spectral = (SpectralNorm<Mlp>)model[0];
        var uv = state.Get(spectral.Vectors);
        Assert.That((uv[0].Shape[0], uv[1].Shape[0]), Is.EqualTo((5L, 5L)));

        var x = Normal(15, 4, 3);
        var (y, next) = model.Forward(x, state);
        var stepped = next.Get(spectral.Vectors);
        var w = mlp.Layers[1].Weight;
        var sigma = stepped[0].Matmul(w.Matmul(stepped[1]));
        var normalised = Eqx.TreeAt(mlp, m => m.Layers[1].Weight, w / sigma);
        Assert.That(y.ToArray<double>(), Is.EqualTo(normalised.Forward(x).Tanh().ToArray<double>()).Within(1e-12));
        Assert.That(spectral.Layer.Layers[1].Weight, Is.SameAs(w), "the stored weight stays unnormalised: it is the one trained");
    }

    [Test]
    public void AWeightThatIsMissingOrNotAMatrixIsRejectedWithTheLayersTensors()
    {
        using var scope = Torch.Scope();
        var linear = new Linear(3, 2, Key.Create(16));
        var missing = Assert.Throws<ArgumentException>(() => new SpectralNorm<Linear>(linear, Key.Create(1), weightName: "weight"))!;
        Assert.That(missing.Message, Does.StartWith("SpectralNorm: Linear has no weight at 'weight'; its tensors are Weight f32[2,3], Bias f32[2]."));
        var vector = Assert.Throws<ArgumentException>(() => new SpectralNorm<Linear>(linear, Key.Create(1), weightName: "Bias"))!;
        Assert.That(vector.Message, Does.StartWith(
            "SpectralNorm normalises a matrix (or a higher-rank weight read as [out, rest]); Linear.Bias is f32[2]."));
    }

    [Test]
    public void AMissingLayerOrWeightIsAHoleNamedByItsPath()
    {
        using var scope = Torch.Scope();
        var (model, state) = Eqx.MakeWithState(new SpectralNorm<Linear>(new Linear(3, 2, Key.Create(17)), Key.Create(18)));
        var x = Tensor.Zeros(3);
        var noLayer = Eqx.TreeAt(model, m => m.Layer, (Linear)null!);
        Assert.That(Assert.Throws<TreeHoleException>(() => noLayer.Forward(x, state))!.Path, Is.EqualTo("SpectralNorm.Layer"));
        var biasesOnly = Eqx.Filter(model, t => t.Rank == 1);
        Assert.That(Assert.Throws<TreeHoleException>(() => biasesOnly.Forward(x, state))!.Path, Is.EqualTo("SpectralNorm.Layer.Weight"));
    }

    [Test]
    public void ItIsATreeOfTheLayerAndItsStateIndexAndPrintsLikeEquinox()
    {
        using var scope = Torch.Scope();
        var (model, state) = Eqx.MakeWithState(new SpectralNorm<Linear>(new Linear(3, 2, Key.Create(19)), Key.Create(20)));
        Assert.That(Eqx.LeafPaths(model).Select(p => p.StateDictKey), Is.EqualTo(new[] { "layer.weight", "layer.bias" }),
            "the vectors live in the State, not in the model");
        Assert.That(state.Entries.Keys, Is.EqualTo(new[] { "Vectors" }));
        Assert.That(model.ToString(), Is.EqualTo(
            "SpectralNorm<Linear>(\n  layer=Linear(\n    weight=f32[2,3],\n    bias=f32[2],\n    inFeatures=3,\n    outFeatures=2,\n" +
            "    useBias=true,\n  ),\n  vectors=StateIndex(initial=[], name=\"Vectors\"),\n  weightName=\"Weight\",\n" +
            "  numPowerIterations=1,\n  eps=0.000000000001,\n  inference=false,\n)"));
    }
}
