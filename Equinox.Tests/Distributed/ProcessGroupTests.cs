using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Equinox.Distributed;
using Equinox.Nn;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Distributed;

[Module]
public partial class MixedPair
{
    public readonly Tensor Single;
    public readonly Tensor? Hole;
    public readonly Tensor Double;

    public MixedPair(Tensor single, Tensor? hole, Tensor @double)
    {
        Single = single;
        Hole = hole;
        Double = @double;
    }
}

// Collectives between ranks that are threads of this process (each its own ProcessGroup, over real sockets on
// 127.0.0.1), and the setup's failures. Every wait is bounded: the groups' timeout, and the limit on the threads.
[NonParallelizable]
public class ProcessGroupTests
{
    private static readonly TimeSpan GroupTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Runs <paramref name="body"/> as every rank of a fresh group of <paramref name="worldSize"/> threads.</summary>
    internal static T[] RunRanks<T>(int worldSize, Func<ProcessGroup, T> body)
    {
        int port = DistributedLauncher.FreePort();
        var tasks = Enumerable.Range(0, worldSize).Select(rank => Task.Factory.StartNew(() =>
        {
            using var group = ProcessGroup.Init(rank, worldSize, "127.0.0.1", port, GroupTimeout);
            return body(group);
        }, TaskCreationOptions.LongRunning)).ToArray();
        Assert.That(Task.WhenAll(tasks).Wait(TimeSpan.FromSeconds(40)) || tasks.All(t => t.IsCompleted), Is.True, "the ranks finish");
        return tasks.Select(t => t.GetAwaiter().GetResult()).ToArray();
    }

    internal static Exception?[] RunRanksExpectingFailures(int worldSize, Action<ProcessGroup> body)
    {
        int port = DistributedLauncher.FreePort();
        var tasks = Enumerable.Range(0, worldSize).Select(rank => Task.Factory.StartNew(() =>
        {
            using var group = ProcessGroup.Init(rank, worldSize, "127.0.0.1", port, GroupTimeout);
            try
            {
                body(group);
                return (Exception?)null;
            }
            catch (Exception e)
            {
                return e;
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        Assert.That(Task.WhenAll(tasks).Wait(TimeSpan.FromSeconds(40)), Is.True, "the ranks finish");
        return tasks.Select(t => t.Result).ToArray();
    }

    [Test]
    public void TheBuildHasDistributedSupport() => Assert.That(ProcessGroup.IsAvailable, Is.True);

    [Test]
    public void AllReduceMeanAveragesEveryLeafInOneBucketAndKeepsHoles()
    {
        var results = RunRanks(2, group =>
        {
            float scale = group.Rank + 1;
            var tree = new MixedPair(Tensor.FromArray(new[] { 1f, 2f, 3f }) * scale, null,
                Tensor.FromArray(new[] { 10.0, 20.0 }) * (double)scale);
            var mean = group.AllReduceMean(tree);
            var buckets = group.LastBucketCount;
            var sum = group.AllReduce(tree);
            return (Single: mean.Single.ToArray<float>(), Double: mean.Double.ToArray<double>(), Hole: mean.Hole,
                DType: mean.Double.DType, Buckets: buckets, Sum: sum.Single.ToArray<float>());
        });
        foreach (var r in results)
        {
            Assert.That(r.Single, Is.EqualTo(new[] { 1.5f, 3f, 4.5f }));
            Assert.That(r.Double, Is.EqualTo(new[] { 15.0, 30.0 }));
            Assert.That(r.DType, Is.EqualTo(DType.Float64));
            Assert.That(r.Hole, Is.Null);
            Assert.That(r.Buckets, Is.EqualTo(2), "one buffer per dtype");
            Assert.That(r.Sum, Is.EqualTo(new[] { 3f, 6f, 9f }));
        }
    }

    [Test]
    public void AModelsLeavesShareOneBufferUntilTheBucketSizeIsReached()
    {
        var results = RunRanks(2, group =>
        {
            var model = new Mlp(4, 2, 8, 2, key: Key.Create(group.Rank));   // 6 leaves, 146 floats
            var mean = group.AllReduceMean(model);
            int one = group.LastBucketCount;
            group.BucketSizeBytes = 4 * 40;   // 40 floats: the 8x8 weight (64 floats) gets a buffer of its own
            group.AllReduceMean(model);
            return (one, many: group.LastBucketCount, first: Eqx.Leaves(mean)[0].ToArray<float>());
        });
        Assert.That(results[0].one, Is.EqualTo(1));
        Assert.That(results[0].many, Is.GreaterThan(2).And.LessThan(6));
        Assert.That(results[0].first, Is.EqualTo(results[1].first));
    }

    [Test]
    public void BroadcastGivesEveryRankTheRootsTreeAndAllGatherEveryRanksTensor()
    {
        var results = RunRanks(3, group =>
        {
            var model = new Linear(3, 2, Key.Create(100 + group.Rank));
            var fromOne = group.Broadcast(model, root: 1);
            var gathered = group.AllGather(Tensor.FromArray(new[] { (float)group.Rank, group.Rank + 0.5f }));
            var max = group.AllReduce(Tensor.FromArray(new[] { (float)group.Rank, -group.Rank }), ReduceOp.Max);
            var product = group.AllReduce(Tensor.FromArray(new[] { group.Rank + 1.0 }), ReduceOp.Product);
            group.Barrier();
            return (Weight: fromOne.Weight.ToArray<float>(), Gathered: gathered.Select(g => g.ToArray<float>()).ToArray(),
                Max: max.ToArray<float>(), Product: product.ToArray<double>());
        });
        var expected = new Linear(3, 2, Key.Create(101)).Weight.ToArray<float>();
        foreach (var r in results)
        {
            Assert.That(r.Weight, Is.EqualTo(expected));
            Assert.That(r.Gathered, Is.EqualTo(new[] { new[] { 0f, 0.5f }, new[] { 1f, 1.5f }, new[] { 2f, 2.5f } }));
            Assert.That(r.Max, Is.EqualTo(new[] { 2f, 0f }));
            Assert.That(r.Product, Is.EqualTo(new[] { 6.0 }));
        }
    }

    [Test]
    public void RanksPassingTreesOfDifferentStructureGetAnErrorNamingThePath()
    {
        var errors = RunRanksExpectingFailures(2, group =>
        {
            var model = new Mlp(4, 2, group.Rank == 0 ? 8 : 9, 2, key: Key.Create(0));
            group.AllReduceMean(model);
        });
        foreach (var (e, rank) in errors.Select((e, i) => (e, i)))
        {
            Assert.That(e, Is.TypeOf<DistributedException>());
            var d = (DistributedException)e!;
            Assert.That(d.Rank, Is.EqualTo(rank));
            Assert.That(d.Collective, Is.EqualTo("AllReduceMean"));
            Assert.That(d.Message, Does.StartWith($"rank {rank} of 2: AllReduceMean: the ranks passed trees of different structure: " +
                "they first differ at Layers[0].Weight: rank 0 has f32[8,4], rank 1 has f32[9,4]."));
        }
    }

    [Test]
    public void AnOccupiedPortIsAClearError()
    {
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        int port = ((IPEndPoint)occupant.LocalEndpoint).Port;
        var e = Assert.Throws<DistributedException>(() => ProcessGroup.Init(0, 2, "127.0.0.1", port, GroupTimeout));
        Assert.That(e!.Message, Is.EqualTo($"rank 0 of 2: Init: cannot host the store on 127.0.0.1:{port}: the port is already " +
            "in use by another process. Choose a free port (MASTER_PORT under torchrun)."));
    }

    [Test]
    public void AnAddressOfAnotherMachineIsAClearErrorOnRankZero()
    {
        int port = DistributedLauncher.FreePort();
        var e = Assert.Throws<DistributedException>(() => ProcessGroup.Init(0, 2, "192.0.2.123", port, GroupTimeout));
        Assert.That(e!.Message, Does.StartWith($"rank 0 of 2: Init: cannot host the store on 192.0.2.123:{port}: 192.0.2.123 is not an address of this machine."));
    }

    [Test]
    public void ARankWithNoStoreToReachFailsWithinItsTimeout()
    {
        int port = DistributedLauncher.FreePort();
        var e = Assert.Throws<DistributedException>(() => ProcessGroup.Init(1, 2, "127.0.0.1", port, TimeSpan.FromSeconds(2)));
        Assert.That(e!.Message, Does.StartWith($"rank 1 of 2: Init: joining the group through the store at 127.0.0.1:{port} failed: "));
    }

    [Test]
    public void TheStoreListensOnlyOnTheAddressItWasGiven()
    {
        int port = DistributedLauncher.FreePort();
        using var group = ProcessGroup.Init(0, 1, "127.0.0.1", port, GroupTimeout);
        Assert.That(group.StoreServer, Is.Not.Null);
        Assert.That(group.StoreServer!.EndPoint, Is.EqualTo(new IPEndPoint(IPAddress.Loopback, port)));
        using (var local = new TcpClient())
        {
            local.Connect(IPAddress.Loopback, port);
            Assert.That(local.Connected, Is.True, "reachable where told");
        }
        var others = NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .Where(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            .ToArray();
        foreach (var address in others)
        {
            using var remote = new TcpClient();
            var refused = Assert.Throws<SocketException>(() => remote.Connect(address, port), $"{address}:{port} must not accept");
            Assert.That(refused!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionRefused));
        }
        Assert.That(group.WorldSize, Is.EqualTo(1));
        group.Barrier();
    }

    [Test]
    public void ADisposedGroupSaysSo()
    {
        var group = ProcessGroup.Init(0, 1, "127.0.0.1", DistributedLauncher.FreePort(), GroupTimeout);
        group.Dispose();
        Assert.Throws<ObjectDisposedException>(() => group.Barrier());
    }

    [Test]
    public void InitFromEnvironmentNamesTheMissingVariable()
    {
        var saved = Environment.GetEnvironmentVariable("RANK");
        Environment.SetEnvironmentVariable("RANK", null);
        try
        {
            var e = Assert.Throws<InvalidOperationException>(() => ProcessGroup.InitFromEnvironment());
            Assert.That(e!.Message, Does.StartWith("ProcessGroup.InitFromEnvironment needs the environment variable RANK, which is not set"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("RANK", saved);
        }
    }
}
