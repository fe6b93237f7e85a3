// TiedEmbeddings: the FAQ's "a module saved in two places has become two independent copies", and its fix.
//
// A language model often reuses its embedding table as the output layer's weight. Storing one object in two fields
// does not tie them: a model is a tree, so after the first update the two are independent copies. Equinox for C#
// makes that mistake a compile error. Build this project with the mistaken class switched on:
//
//   dotnet build examples/TiedEmbeddings -p:ShowEqx0008=true
//
// and the compiler answers (on one line, followed by a link to docs/diagnostics.md#eqx0008):
//
//   error EQX0008: 'table' is stored in both 'EmbeddingWeight' and 'OutputWeight'; a model is a tree, not a graph, so
//   after the first update these become two independent copies. To tie them on purpose, store the node once and
//   re-insert it with Shared<T> (new Shared<T>(tree, where: t => t.Second, get: t => t.First)); to have two
//   independent nodes, create two objects.
//
// (A test compiles that class and checks this text.) The fix is Shared<T>: it stores the weight once and re-inserts
// it where the head reads it, so the gradients of both uses add up on the one copy and the tie survives training.
// Eqx.TreeCheck finds at run time the duplicates the compiler cannot see.
//
//   dotnet run --project examples/TiedEmbeddings [-- --steps N --out DIR]
using System.Globalization;
using Equinox;
using Equinox.Examples;
using Equinox.Nn;
using Equinox.Optim;
using Equinox.Tensors;

const int Vocabulary = 16, Width = 8;
var options = ExampleOptions.Parse(args, defaultSteps: 300);
var keys = Key.Create(0).Split(3);

// 1. A duplicate the compiler cannot see (it happens across a call), caught at run time by TreeCheck.
var embedding = new Embedding(Vocabulary, Width, keys[0]);
var accidental = new LanguageModel(embedding, new Linear(Width, Width, keys[1]), new Linear(embedding.Weight, null));
try
{
    Eqx.TreeCheck(accidental);
}
catch (TreeCheckException e)
{
    Console.WriteLine($"TreeCheck: {e.Message}");
}

// 2. The tie done on purpose: the head's weight slot is removed from the stored tree and filled from the embedding.
var model = new LanguageModel(embedding, new Linear(Width, Width, keys[1]), new Linear(Width, Vocabulary, keys[2], useBias: false));
var tied = new Shared<LanguageModel>(model, where: m => m.Head.Weight, get: m => m.Embedding.Weight);
Eqx.TreeCheck(tied);
Console.WriteLine($"TreeCheck(tied) passes; stored tensors: {Eqx.Leaves(tied).Count(t => t is not null)} (untied: {Eqx.Leaves(model).Count(t => t is not null)})");

// The gradient of the tied weight is the sum of the gradients of its two uses.
var tokens = Tensor.Arange(Vocabulary);
var targets = (tokens * 3 + 1) % Vocabulary;   // learn the map t -> 3t + 1 (mod 16)
var untiedGrads = Eqx.FilterGrad((LanguageModel m) => Functional.CrossEntropy(m.Forward(tokens), targets))(tied.Value);
var tiedGrads = Eqx.FilterGrad((Shared<LanguageModel> t) => Functional.CrossEntropy(t.Value.Forward(tokens), targets))(tied);
var sum = untiedGrads.Embedding.Weight + untiedGrads.Head.Weight;
Console.WriteLine($"tied gradient = embedding's + head's gradient: {(tiedGrads.Tree.Embedding.Weight - sum).Abs().Max().Item<float>() < 1e-6f}");

// Train the tied model: one FilterJit step over the Shared tree.
var adam = new Adam(0.05);
var state = adam.Init(tied);
var step = Eqx.FilterJit((Shared<LanguageModel> t, OptimizerState<Shared<LanguageModel>> s, Tensor x, Tensor y) =>
{
    var (loss, grads) = Eqx.FilterValueAndGrad((Shared<LanguageModel> u) => Functional.CrossEntropy(u.Value.Forward(x), y))(t);
    var (next, nextState) = adam.Step(t, grads, s);
    return (next, nextState, loss);
}, donate: Donate.Arg1 | Donate.Arg2);
var log = Training.Run(options.Steps, _ =>
{
    (tied, state, var loss) = step.Invoke(tied, state, tokens, targets);
    using (loss) return loss.Item<double>();
});

var trained = tied.Value;
double accuracy = trained.Forward(tokens).ArgMax(1).Eq(targets).To(DType.Float32).Mean().Item<float>();
Console.WriteLine($"still tied after training: {ReferenceEquals(trained.Head.Weight, trained.Embedding.Weight)}");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"final accuracy: {accuracy:P1} of next tokens"));
Summary.Print("TiedEmbeddings", [.. Summary.TrainingRows(log), ("accuracy", accuracy.ToString("P1", CultureInfo.InvariantCulture))]);
LossCurve.Write(log, options.OutputDirectory, "TiedEmbeddings");

/// <summary>Embed a token, one tanh layer, project back onto the vocabulary.</summary>
[Module]
public sealed partial class LanguageModel
{
    /// <summary>The token table <c>[Vocabulary, Width]</c>.</summary>
    public readonly Embedding Embedding;

    /// <summary>The hidden layer.</summary>
    public readonly Linear Hidden;

    /// <summary>The output layer; its weight <c>[Vocabulary, Width]</c> has the embedding table's shape.</summary>
    public readonly Linear Head;

    /// <summary>Makes the model from its layers.</summary>
    public LanguageModel(Embedding embedding, Linear hidden, Linear head)
    {
        Embedding = embedding;
        Hidden = hidden;
        Head = head;
    }

    /// <summary>Next-token logits <c>[N, Vocabulary]</c> for tokens <c>[N]</c>.</summary>
    public Tensor Forward(Tensor tokens) => Head.Forward(Hidden.Forward(Embedding.Forward(tokens)).Tanh());
}

#if EQX0008_DEMO
/// <summary>The mistake: one table stored in two fields. This does not compile (EQX0008).</summary>
[Module]
public sealed partial class UntiedLanguageModel
{
    /// <summary>The token table.</summary>
    public readonly Tensor EmbeddingWeight;

    /// <summary>Meant to be the same table.</summary>
    public readonly Tensor OutputWeight;

    /// <summary>Stores one table twice.</summary>
    public UntiedLanguageModel(Key key)
    {
        var table = Tensor.Normal(key, [16, 8]);
        EmbeddingWeight = table;
        OutputWeight = table;
    }
}
#endif
