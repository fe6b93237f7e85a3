using System.Text.Json;
using Equinox.Distributed;
using Equinox.Nn;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Distributed;

// C# and Python (python3-torch 1.13, torch.distributed with Gloo) in one group: the proof that Equinox runs PyTorch's
// own engine and protocol. Python/distributed_peer.py runs a fixed sequence of collectives that these tests mirror.
[NonParallelizable]
public class InteropTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static DistributedProcesses.Child Peer(int rank, int port) => new(DistributedProcesses.Python,
        ["-u", DistributedProcesses.Script("distributed_peer.py"), rank.ToString(), "2", "127.0.0.1", port.ToString()],
        new Dictionary<string, string> { ["GLOO_SOCKET_IFNAME"] = "lo" });

    // The C# half of the peer's sequence; returns what C# saw.
    private static (float[] Sum, double[] Broadcast, float[] Weight, float[] Bias, float[][] Gathered, float[] Max) Mirror(ProcessGroup group)
    {
        int rank = group.Rank;
        var sum = group.AllReduce(Tensor.Arange(6, DType.Float32) * (rank + 1));
        var broadcast = group.Broadcast(Tensor.Full([3], 10.0 * (rank + 1), DType.Float64), root: 1);
        group.StructureChecks = false;   // Python issues only the bucketed all-reduce itself
        var layer = new Linear(Tensor.Arange(6, DType.Float32).Reshape(2, 3) + 100 * rank,
            Tensor.FromArray(new[] { 1f, 2f }) * (rank + 1));
        var mean = group.AllReduceMean(layer);
        Assert.That(group.LastBucketCount, Is.EqualTo(1));
        var gathered = group.AllGather(Tensor.FromArray(new[] { (float)rank, rank + 0.5f }));
        var max = group.AllReduce(Tensor.FromArray(new[] { (float)rank, -rank }), ReduceOp.Max);
        group.Barrier();
        return (sum.ToArray<float>(), broadcast.ToArray<double>(), mean.Weight.ToArray<float>(), mean.Bias!.ToArray<float>(),
            gathered.Select(g => g.ToArray<float>()).ToArray(), max.ToArray<float>());
    }

    private static void AssertBothSaw(DistributedProcesses.Child python,
        (float[] Sum, double[] Broadcast, float[] Weight, float[] Bias, float[][] Gathered, float[] Max) csharp)
    {
        Assert.That(python.Finish(Limit), Is.Zero, python.Output);
        var line = python.Output.Split('\n').Single(l => l.StartsWith('{'));
        using var json = JsonDocument.Parse(line);
        var root = json.RootElement;
        float[] F(JsonElement e) => e.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();

        float[] sum = [0, 3, 6, 9, 12, 15];
        Assert.That(csharp.Sum, Is.EqualTo(sum));
        Assert.That(F(root.GetProperty("all_reduce")), Is.EqualTo(sum));
        Assert.That(csharp.Broadcast, Is.EqualTo(new[] { 20.0, 20.0, 20.0 }));
        Assert.That(root.GetProperty("broadcast").EnumerateArray().Select(v => v.GetDouble()), Is.EqualTo(new[] { 20.0, 20.0, 20.0 }));
        float[] weight = [50, 51, 52, 53, 54, 55];
        float[] bias = [1.5f, 3f];
        Assert.That(csharp.Weight, Is.EqualTo(weight));
        Assert.That(csharp.Bias, Is.EqualTo(bias));
        Assert.That(F(root.GetProperty("tree_mean")), Is.EqualTo(weight.Concat(bias)));
        var gathered = new[] { new[] { 0f, 0.5f }, new[] { 1f, 1.5f } };
        Assert.That(csharp.Gathered, Is.EqualTo(gathered));
        Assert.That(root.GetProperty("all_gather").EnumerateArray().Select(F), Is.EqualTo(gathered));
        Assert.That(csharp.Max, Is.EqualTo(new[] { 1f, 0f }));
        Assert.That(F(root.GetProperty("max")), Is.EqualTo(new[] { 1f, 0f }));
    }

    [Test]
    public void ACSharpRankZeroAndAPythonRankOneAllReduceBroadcastAndGatherTogether()
    {
        int port = DistributedLauncher.FreePort();
        using var python = Peer(1, port);   // connects to the store this process hosts
        using var group = ProcessGroup.Init(0, 2, "127.0.0.1", port, TimeSpan.FromSeconds(30));
        AssertBothSaw(python, Mirror(group));
    }

    [Test]
    public void APythonRankZeroHostsTheStoreAndACSharpRankOneJoinsIt()
    {
        int port = DistributedLauncher.FreePort();
        using var python = Peer(0, port);   // Python's own TCPStore server
        using var group = ProcessGroup.Init(1, 2, "127.0.0.1", port, TimeSpan.FromSeconds(30));
        Assert.That(group.StoreServer, Is.Null, "only rank 0 hosts the store");
        AssertBothSaw(python, Mirror(group));
    }

    [Test]
    public void PythonsTcpStoreClientWorksAgainstTheCSharpServer()
    {
        using var server = TcpStoreServer.Start("127.0.0.1", 0);
        using var python = new DistributedProcesses.Child(DistributedProcesses.Python,
            ["-u", DistributedProcesses.Script("store_client.py"), "127.0.0.1", server.EndPoint.Port.ToString()]);
        Assert.That(python.Finish(Limit), Is.Zero, python.Output);
        using var json = JsonDocument.Parse(python.Output.Split('\n').Single(l => l.StartsWith('{')));
        var r = json.RootElement;
        Assert.That(r.GetProperty("get").GetString(), Is.EqualTo("one"));
        Assert.That(r.GetProperty("add1").GetInt64(), Is.EqualTo(5));
        Assert.That(r.GetProperty("add2").GetInt64(), Is.EqualTo(3));
        Assert.That(r.GetProperty("counter").GetString(), Is.EqualTo("3"));
        Assert.That(r.GetProperty("cas_swap").GetString(), Is.EqualTo("two"));
        Assert.That(r.GetProperty("cas_keep").GetString(), Is.EqualTo("two"));
        Assert.That(r.GetProperty("num_keys").GetInt64(), Is.EqualTo(2));
        Assert.That(r.GetProperty("delete").GetBoolean(), Is.True);
        Assert.That(r.GetProperty("delete_again").GetBoolean(), Is.False);
        Assert.That(r.GetProperty("wait_timeout").GetString(), Is.Not.EqualTo("returned"));
        Assert.That(server.KeyCount, Is.EqualTo(1), "only the counter is left");
    }
}
