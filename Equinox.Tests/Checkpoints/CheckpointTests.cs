using System.Buffers.Binary;
using System.Text;
using Equinox.Nn;
using Equinox.Optim;
using Equinox.Tensors;
using Equinox.Testing;
using NUnit.Framework;

namespace Equinox.Tests.Checkpoints;

// Safetensors checkpoints: round trips, the mismatch message, PyTorch interop both ways, and a fuzz test that every
// damaged file is a CheckpointException or a correct load.
public class CheckpointTests
{
    private string directory = "";

    [SetUp]
    public void CreateDirectory() => directory = Directory.CreateTempSubdirectory("eqx-ckpt-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(directory, recursive: true);

    private static double[] Values(Tensor t) => t.To(DType.Float64).ToArray<double>();

    [Test]
    public void AModelAndItsAdamStateRoundTripWithNamesLikeAStateDictAndMetadata()
    {
        using var scope = Torch.Scope();
        var model = new Mlp(2, 1, 8, 2, Key.Create(1));
        var adam = new Adam(0.01);
        var grads = Eqx.TreeMap(model, t => t * 0.5);
        var (_, state) = adam.Step(model, grads, adam.Init(model));
        var path = Path.Combine(directory, "model.safetensors");
        Eqx.SaveLeaves(path, model, new Dictionary<string, string> { ["step"] = "1", ["note"] = "ünïcode" });
        Eqx.SaveLeaves(path + ".opt", state);

        var fresh = new Mlp(2, 1, 8, 2, Key.Create(2));
        var loaded = Eqx.LoadLeaves(path, fresh);
        TreeAssert.AllClose(model, loaded, rtol: 0, atol: 0);
        Assert.That(Eqx.ReadCheckpointMetadata(path), Is.EqualTo(new Dictionary<string, string> { ["step"] = "1", ["note"] = "ünïcode" }));
        var loadedState = Eqx.LoadLeaves(path + ".opt", adam.Init(fresh));
        Assert.That(loadedState.Count.Item<long>(), Is.EqualTo(1));
        TreeAssert.AllClose(state, loadedState, rtol: 0, atol: 0);
        Assert.That(Directory.GetFiles(directory).Select(Path.GetFileName).Order(), Is.EqualTo(new[] { "model.safetensors", "model.safetensors.opt" }),
            "no temporary file is left behind");

        var header = HeaderOf(path);
        Assert.That(header, Does.Contain("\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[8,2],\"data_offsets\":[0,64]}"));
    }

    [Test]
    public void AModelItsOptimiserStateAndItsStateShareOneFileUnderPrefixes()
    {
        using var scope = Torch.Scope();
        var (model, state) = Eqx.MakeWithState(new Sequential(new Linear(2, 3, Key.Create(13)), new BatchNorm(3)));
        (_, state) = model.Forward(Tensor.Normal(Key.Create(14), [4, 2]), state);
        var adam = new Adam(0.01);
        var opt = adam.Init(model);
        var path = Path.Combine(directory, "all.safetensors");
        Eqx.SaveLeaves(path, [("model.", model), ("opt.", opt), ("state.", state)], new Dictionary<string, string> { ["step"] = "7" });
        var names = System.Text.Json.JsonDocument.Parse(HeaderOf(path)).RootElement.EnumerateObject().Select(p => p.Name).Where(n => n != "__metadata__").ToArray();
        Assert.That(names.Count(n => n.StartsWith("model.", StringComparison.Ordinal)), Is.EqualTo(Eqx.Leaves(model).Length));
        Assert.That(names.Count(n => n.StartsWith("opt.", StringComparison.Ordinal)), Is.EqualTo(Eqx.Leaves(opt).Length));
        Assert.That(names.Count(n => n.StartsWith("state.", StringComparison.Ordinal)), Is.EqualTo(Eqx.Leaves(state).Length));
        Assert.That(names, Does.Contain("model.layers.0.weight"));

        var (freshModel, freshState) = Eqx.MakeWithState(new Sequential(new Linear(2, 3, Key.Create(15)), new BatchNorm(3)));
        var loadedModel = Eqx.LoadLeaves(path, freshModel, prefix: "model.");
        var loadedOpt = Eqx.LoadLeaves(path, adam.Init(freshModel), prefix: "opt.");
        var loadedState = Eqx.LoadLeaves(path, freshState, prefix: "state.");
        TreeAssert.AllClose(model, loadedModel, rtol: 0, atol: 0);
        TreeAssert.AllClose(opt, loadedOpt, rtol: 0, atol: 0);
        TreeAssert.AllClose(state, loadedState, rtol: 0, atol: 0);
        Assert.That(Eqx.ReadCheckpointMetadata(path)["step"], Is.EqualTo("7"));
    }

    [Test]
    public void AStreamHoldsTheSameBytesAsAFileAndLoadsBackEvenWhenItCannotSeek()
    {
        using var scope = Torch.Scope();
        var model = new Mlp(2, 1, 8, 2, Key.Create(16));
        var opt = new Adam(0.01).Init(model);
        var path = Path.Combine(directory, "file.safetensors");
        Eqx.SaveLeaves(path, [("model.", model), ("opt.", opt)]);
        using var memory = new MemoryStream();
        memory.Write([1, 2, 3]);   // the checkpoint starts at the stream's position
        Eqx.SaveLeaves(memory, [("model.", model), ("opt.", opt)]);
        Assert.That(memory.ToArray()[3..], Is.EqualTo(File.ReadAllBytes(path)));

        memory.Position = 3;
        var fromStream = Eqx.LoadLeaves(memory, new Mlp(2, 1, 8, 2, Key.Create(17)), prefix: "opt.", rename: null, strict: false);
        Assert.That(Eqx.Leaves(fromStream).Select(Values), Is.Not.EqualTo(Eqx.Leaves(model).Select(Values)), "no model. tensor is read under opt.");
        memory.Position = 3;
        var loaded = Eqx.LoadLeaves(memory, new Mlp(2, 1, 8, 2, Key.Create(17)), prefix: "model.");
        TreeAssert.AllClose(model, loaded, rtol: 0, atol: 0);
        using var forwardOnly = new ForwardOnlyStream(File.ReadAllBytes(path));
        var loadedOpt = Eqx.LoadLeaves(forwardOnly, new Adam(0.01).Init(model), prefix: "opt.");
        TreeAssert.AllClose(opt, loadedOpt, rtol: 0, atol: 0);
        var bad = new MemoryStream(File.ReadAllBytes(path)[..40]);
        var e = Assert.Throws<CheckpointException>(() => Eqx.LoadLeaves(bad, model, prefix: "model."))!;
        Assert.That(e.File, Is.Null);
        Assert.That(e.Message, Does.StartWith("the header length at offset 0 is"));
    }

    private sealed class ForwardOnlyStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream inner = new(bytes);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Test]
    public void ATreeThatDoesNotFitGetsOneMessageNamingEveryMissingExtraAndMismatchedName()
    {
        using var scope = Torch.Scope();
        var path = Path.Combine(directory, "m.safetensors");
        Eqx.SaveLeaves(path, new Mlp(2, 1, 8, 1, Key.Create(3)));
        var e = Assert.Throws<CheckpointException>(() => Eqx.LoadLeaves(path, new Mlp(2, 1, 4, 2, Key.Create(4))))!;
        Assert.That(e.File, Is.EqualTo(path));
        Assert.That(e.Message, Is.EqualTo(
            $"{path}: the checkpoint does not fit Mlp: missing from the file: layers.2.weight (f32[1,4]), layers.2.bias (f32[1]). " +
            "mismatched: layers.0.weight: expected f32[4,2], found f32[8,2]; layers.0.bias: expected f32[4], found f32[8]; " +
            "layers.1.weight: expected f32[4,4], found f32[1,8]; layers.1.bias: expected f32[4], found f32[1]. " +
            "To load only the names both have, pass strict: false; to map names, pass rename."));

        var saved = Eqx.LoadLeaves(path, new Mlp(2, 1, 8, 1, Key.Create(12)));
        var other = new Mlp(2, 1, 8, 1, Key.Create(5));
        var partial = Eqx.LoadLeaves(path, other, strict: false, rename: key => key.StartsWith("layers.1.", StringComparison.Ordinal) ? key + ".absent" : key);
        Assert.That(Values(partial.Layers[1].Weight), Is.EqualTo(Values(other.Layers[1].Weight)), "a name the file lacks keeps like's tensor");
        Assert.That(Values(partial.Layers[0].Weight), Is.EqualTo(Values(saved.Layers[0].Weight)), "the names both have are loaded");
        var e2 = Assert.Throws<CheckpointException>(() => Eqx.LoadLeaves(path, new Mlp(2, 1, 8, 1, Key.Create(3), dtype: DType.Float64)))!;
        Assert.That(e2.Message, Does.Contain("mismatched: layers.0.weight: expected f64[8,2], found f32[8,2]"));
        var converted = Eqx.LoadLeaves(path, new Mlp(2, 1, 8, 1, Key.Create(3), dtype: DType.Float64), convertDTypes: true);
        Assert.That(converted.Layers[0].Weight.DType, Is.EqualTo(DType.Float64));
    }

    [Test]
    public void AFailedSaveLeavesThePreviousCheckpointAndNoTemporaryFile()
    {
        using var scope = Torch.Scope();
        var path = Path.Combine(directory, "keep.safetensors");
        var model = new Linear(2, 2, Key.Create(6));
        Eqx.SaveLeaves(path, model);
        var before = File.ReadAllBytes(path);
        var complex = new Linear(Tensor.Zeros([2, 2], DType.Complex64), null);
        Assert.Throws<NotSupportedException>(() => Eqx.SaveLeaves(path, complex));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
        Assert.That(Directory.GetFiles(directory), Has.Length.EqualTo(1));
    }

    [Test]
    public void APyTorchStateDictWrittenAsSafetensorsLoadsAndComputesTheSameAndOursLoadsInPyTorch()
    {
        using var scope = Torch.Scope();
        var fromTorch = Path.Combine(directory, "torch.safetensors");
        var x = Tensor.Normal(Key.Create(7), [5, 3]);
        // PyTorch's Sequential names its layers 0, 1, 2; the Mlp's are layers.0, layers.1, layers.2.
        var python = $$"""
            import json, struct
            torch.manual_seed(0)
            net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
            def save(path, tensors):
                header, offset, blobs = {}, 0, []
                for name, t in tensors.items():
                    data = t.detach().contiguous().numpy().tobytes()
                    header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
                    offset += len(data); blobs.append(data)
                text = json.dumps(header).encode()
                with open(path, "wb") as f:
                    f.write(struct.pack("<Q", len(text))); f.write(text); f.write(b"".join(blobs))
            save("{{fromTorch}}", net.state_dict())
            out = net(x)
            """;
        var expected = PyTorchOracle.Run(python, ("x", x));
        var model = Eqx.LoadLeaves(fromTorch, new Mlp(3, 2, 4, 1, Key.Create(8), activation: Activations.Tanh),
            rename: key => key.Replace("layers.", "").Replace("1.", "2."));
        OracleAssert.Close(model.Forward(x), expected.Out);

        var fromUs = Path.Combine(directory, "ours.safetensors");
        Eqx.SaveLeaves(fromUs, model);
        var read = $$"""
            import json, struct
            with open("{{fromUs}}", "rb") as f:
                blob = f.read()
            (n,) = struct.unpack_from("<Q", blob, 0)
            header = json.loads(blob[8:8 + n])
            sd = {}
            for name, e in header.items():
                b, end = e["data_offsets"]
                sd[name.replace("layers.", "").replace("1.", "2.")] = torch.frombuffer(bytearray(blob[8 + n + b:8 + n + end]), dtype=torch.float32).reshape(e["shape"])
            net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
            net.load_state_dict(sd)
            out = net(x)
            """;
        OracleAssert.Close(model.Forward(x), PyTorchOracle.Run(read, ("x", x)).Out);
    }

    // The torch side of the interop tests: a module's state_dict written as safetensors with json and struct.
    private const string TorchSave = """
        import json, struct
        def save(path, tensors):
            header, offset, blobs = {}, 0, []
            for name, t in tensors.items():
                t = t.detach().contiguous()
                kind = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
                data = t.numpy().tobytes()
                header[name] = {"dtype": kind, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
                offset += len(data); blobs.append(data)
            text = json.dumps(header).encode()
            with open(path, "wb") as f:
                f.write(struct.pack("<Q", len(text))); f.write(text); f.write(b"".join(blobs))
        torch.manual_seed(0)

        """;

    [Test]
    public void TorchLayersStateDictsLoadUnderTheirOwnNames()
    {
        using var scope = Torch.Scope();
        string File_(string name) => Path.Combine(directory, name + ".safetensors");
        var image = Tensor.Normal(Key.Create(20), [2, 3, 6, 6]);
        var conv = PyTorchOracle.Run(TorchSave + $"m = torch.nn.Conv2d(3, 4, 3, padding=1)\nsave(\"{File_("conv")}\", m.state_dict())\nout = m(x)", ("x", image));
        OracleAssert.Close(Eqx.LoadLeaves(File_("conv"), new Conv2d(3, 4, 3, Key.Create(21), padding: 1)).Forward(image), conv.Out);

        var rows = Tensor.Normal(Key.Create(22), [5, 8]);
        var norm = PyTorchOracle.Run(TorchSave + $"m = torch.nn.LayerNorm(8)\nwith torch.no_grad(): m.weight.uniform_(); m.bias.uniform_()\nsave(\"{File_("norm")}\", m.state_dict())\nout = m(x)", ("x", rows));
        OracleAssert.Close(Eqx.LoadLeaves(File_("norm"), new LayerNorm(8)).Forward(rows), norm.Out);

        var ids = Tensor.FromArray(new long[] { 3, 0, 9, 3 });
        var embedding = PyTorchOracle.Run(TorchSave + $"m = torch.nn.Embedding(10, 4)\nsave(\"{File_("emb")}\", m.state_dict())\nout = m(x)", ("x", ids));
        OracleAssert.Close(Eqx.LoadLeaves(File_("emb"), new Embedding(10, 4, Key.Create(23))).Forward(ids), embedding.Out);

        var (input, hidden) = (Tensor.Normal(Key.Create(24), [2, 3]), Tensor.Normal(Key.Create(25), [2, 5]));
        var gru = PyTorchOracle.Run(TorchSave + $"m = torch.nn.GRUCell(3, 5)\nsave(\"{File_("gru")}\", m.state_dict())\nout = m(x, h)", ("x", input), ("h", hidden));
        OracleAssert.Close(Eqx.LoadLeaves(File_("gru"), new GRUCell(3, 5, Key.Create(26))).Forward(input, hidden), gru.Out);

        // MultiheadAttention: torch packs the three input projections into in_proj_weight.
        var (q, kv) = (Tensor.Normal(Key.Create(28), [4, 8]), Tensor.Normal(Key.Create(29), [6, 8]));
        var mha = PyTorchOracle.Run(TorchSave + $"m = torch.nn.MultiheadAttention(8, 2)\nsave(\"{File_("mha")}\", m.state_dict())\nout = m(q, k, k, need_weights=False)[0]",
            ("q", q), ("k", kv));
        var tensors = Eqx.LoadTensors(File_("mha"));
        Assert.That(tensors.Keys.Order(), Is.EqualTo(new[] { "in_proj_bias", "in_proj_weight", "out_proj.bias", "out_proj.weight" }));
        OracleAssert.Close(MultiheadAttention.FromTorch(2, tensors).Forward(q, kv, kv), mha.Out);

        // BatchNorm: the affine parameters are the layer's; the running statistics live in the State.
        var batch = Tensor.Normal(Key.Create(27), [6, 3]) * 2 + 1;
        var bn = PyTorchOracle.Run(TorchSave +
            $"m = torch.nn.BatchNorm1d(3)\nwith torch.no_grad(): m.weight.uniform_(); m.bias.uniform_()\nm(x * 3)\nm.eval()\nsave(\"{File_("bn")}\", m.state_dict())\nout = m(x)",
            ("x", batch));
        var (model, state) = Eqx.MakeWithState(new BatchNorm(3));
        model = Eqx.LoadLeaves(File_("bn"), model, strict: false);
        state = Eqx.LoadLeaves(File_("bn"), state, rename: key => key.EndsWith(".values.0", StringComparison.Ordinal) ? "running_mean" : "running_var", strict: false);
        OracleAssert.Close(Eqx.InferenceMode(model).Forward(batch, state).Output, bn.Out);
    }

    [Test]
    public void MalformedHeadersNameTheFileAndWhatIsWrong()
    {
        using var scope = Torch.Scope();
        var like = new Linear(2, 1, Key.Create(9));
        string Load(byte[] bytes)
        {
            var path = Path.Combine(directory, "bad.safetensors");
            File.WriteAllBytes(path, bytes);
            return Assert.Throws<CheckpointException>(() => Eqx.LoadLeaves(path, like))!.Message;
        }
        byte[] File_(string header, int dataBytes)
        {
            var text = Encoding.UTF8.GetBytes(header);
            var bytes = new byte[8 + text.Length + dataBytes];
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)text.Length);
            text.CopyTo(bytes, 8);
            return bytes;
        }
        Assert.That(Load([1, 2, 3]), Does.EndWith("the file is 3 bytes; a safetensors file starts with an 8-byte header length."));
        Assert.That(Load(File_("{}", 0)[..9]), Does.Contain("the header length at offset 0 is 2 bytes, but only 1 bytes follow it"));
        Assert.That(Load(File_("{\"weight\":1}", 0)), Does.EndWith("entry 'weight' is not an object with dtype, shape and data_offsets."));
        Assert.That(Load(File_("""{"weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"weight":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", 12)),
            Does.EndWith("entry 'weight' appears twice in the header."));
        Assert.That(Load(File_("""{"weight":{"dtype":"Q7","shape":[1,2],"data_offsets":[0,8]}}""", 8)), Does.EndWith("entry 'weight' has an unknown dtype 'Q7'."));
        Assert.That(Load(File_("""{"weight":{"dtype":"F32","shape":[1,-2],"data_offsets":[0,8]}}""", 8)),
            Does.EndWith("entry 'weight' has shape [1,-2]: each size must be a non-negative integer."));
        Assert.That(Load(File_("""{"weight":{"dtype":"F32","shape":[1,3],"data_offsets":[0,8]}}""", 8)),
            Does.EndWith("entry 'weight' is F32 [1,3], 12 bytes, but its data_offsets [0, 8] span 8."));
        Assert.That(Load(File_("""{"weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}""", 4)),
            Does.EndWith("entry 'weight' has data_offsets [0, 8] past the end of the data (4 bytes)."));
        Assert.That(Load(File_("""{"weight":{"dtype":"F32","shape":[1,2],"data_offsets":[4,12]},"bias":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}""", 16)),
            Does.EndWith("the data has a gap at bytes 0-4 before entry 'weight'; safetensors data must be contiguous."));
        Assert.That(Load(File_("""{"weight":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}""", 8)),
            Does.EndWith("entry 'weight' has shape [4611686018427387904,4], more bytes than any file can hold."));
        var invalidUtf8 = File_("{\"w\":\"\u00e9\"}", 0);
        invalidUtf8[12] = 0xFF;
        Assert.That(Load(invalidUtf8), Does.Contain("is not valid UTF-8"));
    }

    [Test]
    public void EveryDamagedFileIsACheckpointExceptionOrACorrectLoad()
    {
        using var scope = Torch.Scope();
        var model = new Mlp(2, 1, 3, 1, Key.Create(10));
        var path = Path.Combine(directory, "good.safetensors");
        Eqx.SaveLeaves(path, model, new Dictionary<string, string> { ["k"] = "v" });
        var good = File.ReadAllBytes(path);
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(good);
        var damaged = Path.Combine(directory, "damaged.safetensors");
        var random = new Random(11);
        int loads = 0, refusals = 0;
        void Try(byte[] bytes)
        {
            File.WriteAllBytes(damaged, bytes);
            try
            {
                using var inner = Torch.Scope();
                var loaded = Eqx.LoadLeaves(damaged, model);
                // A load that succeeds read every tensor from the (possibly changed) data bytes: the shapes must fit.
                Assert.That(Eqx.Leaves(loaded).Select(t => t.Shape.ToArray()), Is.EqualTo(Eqx.Leaves(model).Select(t => t.Shape.ToArray())));
                loads++;
            }
            catch (CheckpointException)
            {
                refusals++;
            }
        }
        for (int length = 0; length < good.Length; length++) Try(good[..length]);
        for (int i = 0; i < 3000; i++)
        {
            var bytes = (byte[])good.Clone();
            int flips = 1 + random.Next(3);
            for (int f = 0; f < flips; f++)
            {
                // Mostly the header, where the structure lives; some in the length prefix and the data.
                int at = random.Next(4) switch { 0 => random.Next(8), 3 => random.Next(headerEnd, bytes.Length), _ => random.Next(8, headerEnd) };
                bytes[at] = random.Next(2) == 0 ? (byte)random.Next(256) : (byte)(bytes[at] ^ (1 << random.Next(8)));
            }
            Try(bytes);
        }
        var huge = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(huge, ulong.MaxValue);
        Try(huge);
        Assert.That(loads + refusals, Is.EqualTo(good.Length + 3001));
        Assert.That(refusals, Is.GreaterThan(good.Length), "every truncation, and most header damage, is refused");
        Assert.That(loads, Is.GreaterThan(0), "damage to the data bytes alone still loads");
    }

    private static string HeaderOf(string path)
    {
        var bytes = File.ReadAllBytes(path);
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        return Encoding.UTF8.GetString(bytes, 8, n).TrimEnd();
    }
}
