using Equinox.Optim;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Optim;

/// <summary>A two-layer tanh network with plain tensor fields, easy to rebuild in Python from the same weights.</summary>
[Module]
public sealed partial class OptNet
{
    public readonly Tensor W1, B1, W2, B2;

    public OptNet(Tensor w1, Tensor b1, Tensor w2, Tensor b2) => (W1, B1, W2, B2) = (w1, b1, w2, b2);

    public static OptNet Create(int seed, int hidden = 4, DType dtype = DType.Float32)
    {
        var keys = Key.Create(seed).Split(4);
        return new OptNet(Tensor.Normal(keys[0], [hidden, 2]).To(dtype) * 0.7, Tensor.Normal(keys[1], [hidden]).To(dtype) * 0.1,
            Tensor.Normal(keys[2], [1, hidden]).To(dtype) * 0.7, Tensor.Normal(keys[3], [1]).To(dtype) * 0.1);
    }

    public Tensor Forward(Tensor x) => Functional.Linear(Functional.Linear(x, W1, B1).Tanh(), W2, B2);
}

/// <summary>A model with a non-trainable integer leaf beside its float ones.</summary>
[Module]
public sealed partial class CountingNet
{
    public readonly Tensor W;
    public readonly Tensor Seen;

    public CountingNet(Tensor w, Tensor seen) => (W, Seen) = (w, seen);
}

// Every optimiser against torch.optim (Debian's python3-torch 1.13) on identical weights and data: 20 steps of the
// same model end at the same parameters, on the fused CPU path and on the tensor-operation path alike.
[NonParallelizable] // Optimizer.UseFusedKernels is process-wide
public class OptimizerTests
{
    private const int Steps = 20;
    private const string PythonModel = "torch.tanh(x @ ps[0].T + ps[1]) @ ps[2].T + ps[3]";

    private static (Tensor X, Tensor Y) Data(double scale = 1)
    {
        var x = Tensor.Normal(Key.Create(5), [16, 2]);
        var y = ((x[.., 0] * 2).Sin() * x[.., 1]).Unsqueeze(1) * scale;
        return (x, y);
    }

    private static readonly Func<OptNet, Tensor, Tensor, (Tensor Value, OptNet Grads)> LossAndGrads =
        Eqx.FilterValueAndGrad((OptNet m, Tensor x, Tensor y) => (m.Forward(x) - y).Square().Mean());

    private static OptNet Train(IGradientTransformation optimizer, OptNet model, Tensor x, Tensor y, int steps = Steps)
    {
        var state = optimizer.Init(model);
        for (int k = 0; k < steps; k++)
        {
            var (_, grads) = LossAndGrads(model, x, y);
            (model, state) = optimizer.Step(model, grads, state);
        }
        Assert.That(state.Count.Item<long>(), Is.EqualTo(steps), "the state counts the steps");
        return model;
    }

    // The same loop in PyTorch; `setup` builds `opt` over `ps`, `beforeStep` runs before each step with `k` in scope.
    private static OracleResult TrainInTorch(OptNet model, Tensor x, Tensor y, string setup, string beforeStep = "pass", string afterBackward = "pass") =>
        PyTorchOracle.Run($$"""
            ps = [t.detach().clone().requires_grad_() for t in (w1, b1, w2, b2)]
            {{setup}}
            for k in range({{Steps}}):
                opt.zero_grad()
                loss = (({{PythonModel}} - y) ** 2).mean()
                loss.backward()
                {{afterBackward}}
                {{beforeStep}}
                opt.step()
            out = [p.detach() for p in ps]
            """, ("x", x), ("y", y), ("w1", model.W1), ("b1", model.B1), ("w2", model.W2), ("b2", model.B2));

    private static void AssertSameParameters(OptNet actual, OracleResult expected, double rtol = 2e-5, double atol = 2e-6)
    {
        var leaves = Eqx.Leaves(actual);
        string[] names = ["W1", "B1", "W2", "B2"];
        for (int i = 0; i < leaves.Length; i++)
            OracleAssert.Close(leaves[i], expected.Outputs[i], rtol, atol, names[i]);
    }

    public static IEnumerable<TestCaseData> TorchOptimizers()
    {
        (string Name, Func<IGradientTransformation> Create, string Torch)[] cases =
        [
            ("Sgd", () => new Sgd(0.1), "torch.optim.SGD(ps, lr=0.1)"),
            ("Sgd momentum dampening decay", () => new Sgd(0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01),
                "torch.optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)"),
            ("Sgd nesterov", () => new Sgd(0.05, momentum: 0.9, nesterov: true), "torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True)"),
            ("Adam", () => new Adam(0.01), "torch.optim.Adam(ps, lr=0.01)"),
            ("Adam betas eps decay", () => new Adam(0.01, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1),
                "torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)"),
            ("AdamW", () => new AdamW(0.01, weightDecay: 0.1), "torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1)"),
            ("RmsProp", () => new RmsProp(0.01), "torch.optim.RMSprop(ps, lr=0.01)"),
            ("RmsProp centered momentum decay", () => new RmsProp(0.01, alpha: 0.9, weightDecay: 0.01, momentum: 0.5, centered: true),
                "torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, weight_decay=0.01, momentum=0.5, centered=True)"),
            ("Adagrad", () => new Adagrad(0.1, learningRateDecay: 0.01, weightDecay: 0.01, initialAccumulatorValue: 0.1),
                "torch.optim.Adagrad(ps, lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)"),
        ];
        foreach (var (name, create, torch) in cases)
        foreach (var fused in new[] { true, false })
            yield return new TestCaseData(create, torch, fused).SetArgDisplayNames(name, fused ? "fused" : "tensor ops");
    }

    [TestCaseSource(nameof(TorchOptimizers))]
    public void TwentyStepsMatchTorchOptim(Func<IGradientTransformation> create, string torch, bool fused)
    {
        var (x, y) = Data();
        var model = OptNet.Create(1);
        var expected = TrainInTorch(model, x, y, $"opt = {torch}");
        Optimizer.UseFusedKernels = fused;
        try
        {
            AssertSameParameters(Train(create(), model, x, y), expected);
        }
        finally
        {
            Optimizer.UseFusedKernels = true;
        }
    }

    [Test]
    public void AFloat64ModelMatchesTorchOptimToo()
    {
        var (x, y) = Data();
        var (x64, y64) = (x.To(DType.Float64), y.To(DType.Float64));
        var model = OptNet.Create(2, dtype: DType.Float64);
        var expected = TrainInTorch(model, x64, y64, "opt = torch.optim.Adam(ps, lr=0.01, weight_decay=0.1)");
        var trained = Train(new Adam(0.01, weightDecay: 0.1), model, x64, y64);
        Assert.That(trained.W1.DType, Is.EqualTo(DType.Float64));
        AssertSameParameters(trained, expected, 1e-10, 1e-12);
    }

    [Test]
    public void AScheduleSetsEachStepsLearningRate()
    {
        var (x, y) = Data();
        var model = OptNet.Create(3);
        // torch.optim has no cosine schedule that matches Optax's; setting each step's rate by hand is the reference.
        var expected = TrainInTorch(model, x, y, "opt = torch.optim.SGD(ps, lr=0.1, momentum=0.9)",
            beforeStep: "opt.param_groups[0]['lr'] = 0.1 * (0.5 * (1 + math.cos(math.pi * min(k, 10) / 10)) * 0.9 + 0.1)");
        AssertSameParameters(Train(new Sgd(Schedule.CosineDecay(0.1, 10, alpha: 0.1), momentum: 0.9), model, x, y), expected);
    }

    [Test]
    public void ClippingThenSgdInAChainMatchesClipGradNormThenSgd()
    {
        var (x, y) = Data(scale: 10); // large targets: the gradients' norm is well above the limit
        var model = OptNet.Create(4);
        var (_, first) = LossAndGrads(model, x, y);
        Assert.That(ClipByGlobalNorm.GlobalNorm(first).Item<double>(), Is.GreaterThan(2), "the test clips");
        var expected = TrainInTorch(model, x, y, "opt = torch.optim.SGD(ps, lr=0.1, momentum=0.9)",
            afterBackward: "torch.nn.utils.clip_grad_norm_(ps, 0.5)");
        AssertSameParameters(Train(new Chain(new ClipByGlobalNorm(0.5), new Sgd(0.1, momentum: 0.9)), model, x, y), expected);
    }

    [Test]
    public void LionFollowsItsPublishedRule()
    {
        // Chen et al. 2023, Algorithm 2: c = β1·m + (1-β1)·g; θ -= lr·(sign(c) + λ·θ); m = β2·m + (1-β2)·g. Checked
        // per step, in double precision, from the same gradients.
        const double lr = 0.01, beta1 = 0.8, beta2 = 0.95, decay = 0.1;
        var (x, y) = Data();
        var model = OptNet.Create(5);
        var lion = new Lion(lr, beta1, beta2, decay);
        var state = lion.Init(model);
        var momentum = Eqx.Leaves(model).Select(t => new double[t.NumberOfElements]).ToArray();
        for (int k = 0; k < Steps; k++)
        {
            var (_, grads) = LossAndGrads(model, x, y);
            var (updates, next) = lion.Update(grads, state, model);
            var g = Eqx.Leaves(grads);
            var p = Eqx.Leaves(model);
            var u = Eqx.Leaves(updates);
            for (int leaf = 0; leaf < g.Length; leaf++)
            {
                double[] gv = g[leaf].ToArray<float>().Select(v => (double)v).ToArray(), pv = p[leaf].ToArray<float>().Select(v => (double)v).ToArray();
                var expected = new double[gv.Length];
                for (int i = 0; i < gv.Length; i++)
                {
                    expected[i] = -lr * (Math.Sign(beta1 * momentum[leaf][i] + (1 - beta1) * gv[i]) + decay * pv[i]);
                    momentum[leaf][i] = beta2 * momentum[leaf][i] + (1 - beta2) * gv[i];
                }
                OracleAssert.Values(u[leaf].ToArray<float>().Select(v => (double)v).ToArray(), expected, 1e-6, 1e-7, $"step {k} leaf {leaf}");
            }
            model = Eqx.ApplyUpdates(model, updates);
            state = next;
        }
    }

    [TestCase(true)]
    [TestCase(false)]
    public void TheFusedPathAndTheTensorPathAgreeForLion(bool fused)
    {
        var (x, y) = Data();
        Optimizer.UseFusedKernels = fused;
        try
        {
            var trained = Train(new Lion(0.01, weightDecay: 0.1), OptNet.Create(6), x, y);
            Optimizer.UseFusedKernels = !fused;
            var other = Train(new Lion(0.01, weightDecay: 0.1), OptNet.Create(6), x, y);
            for (int i = 0; i < 4; i++)
                Assert.That(Eqx.Leaves(trained)[i].ToArray<float>(), Is.EqualTo(Eqx.Leaves(other)[i].ToArray<float>()).Within(1e-6));
        }
        finally
        {
            Optimizer.UseFusedKernels = true;
        }
    }

    [Test]
    public void IntegerLeavesAreLeftOutOfTheStateAndTheUpdate()
    {
        var model = new CountingNet(Tensor.FromArray(new float[] { 1, 2, 3 }), Tensor.FromArray(new long[] { 7 }));
        var adam = new Adam(0.1);
        var state = adam.Init(model);
        Assert.That(state.Slot("mu").Seen, Is.Null, "no slot for the integer leaf");
        Assert.That(state.Slot("mu").W.ToArray<float>(), Is.EqualTo(new float[] { 0, 0, 0 }));
        var (_, grads) = Eqx.FilterValueAndGrad((CountingNet m) => m.W.Square().Sum())(model);
        Assert.That(grads.Seen, Is.Null, "FilterGrad differentiates the float leaves only");
        var (next, _) = adam.Step(model, grads, state);
        Assert.That(next.Seen.ToArray<long>(), Is.EqualTo(new long[] { 7 }));
        Assert.That(next.W.ToArray<float>(), Is.EqualTo(new[] { 0.9f, 1.9f, 2.9f }).Within(1e-6), "Adam's first step moves each weight by lr");
    }

    [Test]
    public void AGradientForALeafTheStateLeftOutNamesItAndTheFix()
    {
        var model = new CountingNet(Tensor.FromArray(new float[] { 1, 2, 3 }), Tensor.FromArray(new long[] { 7 }));
        var adam = new Adam(0.1);
        var state = adam.Init(model);
        var grads = new CountingNet(Tensor.FromArray(new float[] { 1, 1, 1 }), Tensor.FromArray(new long[] { 1 }));
        var e = Assert.Throws<ArgumentException>(() => adam.Update(grads, state, model));
        Assert.That(e!.Message, Does.StartWith(
            "Adam.Update: there is a gradient at Seen (i64[1]), but the state has no slot there: Init left that leaf out " +
            "(it was an integer or bool tensor, or a hole). Differentiate only the floating-point leaves: FilterGrad does, and so does " +
            "Eqx.Filter(model, Eqx.IsInexactTensor)."));
    }

    [Test]
    public void AStateBuiltForAnotherModelNamesTheLeafAndBothShapes()
    {
        var adam = new Adam(0.1);
        var state = adam.Init(OptNet.Create(1, hidden: 4));
        var (x, y) = Data();
        var (_, grads) = LossAndGrads(OptNet.Create(1, hidden: 5), x, y);
        var e = Assert.Throws<ArgumentException>(() => adam.Update(grads, state));
        Assert.That(e!.Message, Does.StartWith(
            "Adam.Update: the gradient at W1 is f32[5,2], but the state's 'mu' there is f32[4,2]: the state was built for another model. " +
            "Build it with Init on the model these gradients are for."));
    }

    [Test]
    public void AStateOfAnotherOptimiserIsRefused()
    {
        var model = OptNet.Create(1);
        var state = new Sgd(0.1).Init(model);
        var e = Assert.Throws<ArgumentException>(() => new Adam(0.1).Update(model, state, model));
        Assert.That(e!.Message, Does.StartWith("Adam.Update was given a state built by Sgd.Init; build the state with this optimiser's Init."));
    }

    [Test]
    public void WeightDecayWithoutTheParametersSaysWhatToPass()
    {
        var model = OptNet.Create(1);
        var adamw = new AdamW(0.1);
        var e = Assert.Throws<ArgumentNullException>(() => adamw.Update(model, adamw.Init(model)));
        Assert.That(e!.Message, Does.StartWith(
            "AdamW.Update needs the parameters: its weight decay reads them. Pass the current model as the third argument (Step does)."));
    }

    [Test]
    public void BadHyperparametersFailAtConstruction()
    {
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(0.1, beta1: 1.0))!.Message,
            Does.StartWith("beta1 must be in [0, 1), got 1."));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(-0.1))!.Message,
            Does.StartWith("a learning rate (or scale) must be a finite number >= 0, got -0.1."));
        Assert.That(Assert.Throws<ArgumentException>(() => new Sgd(0.1, nesterov: true))!.Message,
            Does.StartWith("Nesterov momentum needs momentum > 0 and no dampening (got momentum 0, dampening 0)."));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new ClipByGlobalNorm(0))!.Message,
            Does.StartWith("maxNorm must be a positive finite number, got 0."));
    }

    [Test]
    public void ComplexLeavesAreNotSupportedYetAndSaySo()
    {
        var model = new CountingNet(Tensor.FromArray(new float[] { 1, 2 }).To(DType.Complex64), Tensor.FromArray(new long[] { 7 }));
        var e = Assert.Throws<NotSupportedException>(() => new Adam(0.1).Init(model));
        Assert.That(e!.Message, Does.StartWith("Adam.Init: the leaf at W is c64[2]; complex parameters are not supported yet."));
    }
}
