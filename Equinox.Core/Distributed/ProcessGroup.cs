using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Equinox.Tensors;
using Equinox.Tensors.Interop;

namespace Equinox.Distributed;

/// <summary>
/// One process's membership of a group of processes that train together, on PyTorch's own distributed engine:
/// c10d's <c>TCPStore</c> for meeting and <c>ProcessGroupGloo</c> for the collectives. The group is set up exactly as
/// Python's <c>torch.distributed.init_process_group("gloo")</c> sets up its default group, so C# and Python processes
/// can be ranks of one group. Rank 0 hosts the store (<see cref="TcpStoreServer"/>) on the given address only.
/// </summary>
/// <remarks>
/// Every rank must call the collectives in the same order with trees of the same structure; the first call of each
/// kind checks the structure across ranks (<see cref="AllReduce{T}"/>). Collectives run on the calling thread and
/// block until every rank has contributed, a peer fails, or <see cref="Timeout"/> passes.
/// </remarks>
public sealed partial class ProcessGroup : IDisposable
{
    private IntPtr handle;
    private readonly TcpStoreServer? server;

    private ProcessGroup(IntPtr handle, TcpStoreServer? server, int rank, int worldSize, int localRank, TimeSpan timeout,
        IPEndPoint store)
    {
        this.handle = handle;
        this.server = server;
        Rank = rank;
        WorldSize = worldSize;
        LocalRank = localRank;
        Timeout = timeout;
        StoreEndPoint = store;
    }

    /// <summary>This process's rank, 0 to <see cref="WorldSize"/> - 1.</summary>
    public int Rank { get; }

    /// <summary>The number of processes in the group.</summary>
    public int WorldSize { get; }

    /// <summary>The rank among the processes on this machine (torchrun's <c>LOCAL_RANK</c>; the rank when not given).</summary>
    public int LocalRank { get; }

    /// <summary>How long a collective (and the setup) may wait for the other ranks before it fails.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Where the store is: rank 0 hosts it there, every rank connects to it.</summary>
    public IPEndPoint StoreEndPoint { get; }

    /// <summary>The store this process hosts (rank 0 only), or null.</summary>
    public TcpStoreServer? StoreServer => server;

    /// <summary>Whether this build of Equinox has distributed support (its shim was compiled with Gloo's headers).</summary>
    public static bool IsAvailable => NativeMethods.eqx_dist_available() == 1;

    /// <summary>
    /// Joins a group of <paramref name="worldSize"/> processes as rank <paramref name="rank"/>. Rank 0 hosts the store
    /// on <paramref name="address"/>:<paramref name="port"/> (listening there only); the others connect to it, waiting
    /// up to <paramref name="timeout"/> (default 60 s) for it and for each other.
    /// </summary>
    /// <param name="rank">This process's rank.</param>
    /// <param name="worldSize">The number of processes.</param>
    /// <param name="address">Rank 0's address; 127.0.0.1 (the default) keeps every byte on this machine.</param>
    /// <param name="port">The store's port (torchrun's default is 29500).</param>
    /// <param name="timeout">The limit for setup and for each collective.</param>
    /// <param name="localRank">The rank on this machine, for choosing a device; defaults to <paramref name="rank"/>.</param>
    /// <exception cref="DistributedException">The store cannot be hosted or reached, or a rank did not arrive in time.</exception>
    /// <exception cref="NotSupportedException">This build has no distributed support.</exception>
    public static ProcessGroup Init(int rank, int worldSize, string address = "127.0.0.1", int port = 29500,
        TimeSpan? timeout = null, int? localRank = null) =>
        Init(rank, worldSize, address, port, timeout, localRank, hostStore: rank == 0, storePrefix: "");

    private static ProcessGroup Init(int rank, int worldSize, string address, int port, TimeSpan? timeout, int? localRank,
        bool hostStore, string storePrefix)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        if (rank < 0 || rank >= worldSize)
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in [0, {worldSize}) for a world of {worldSize} processes.");
        if (port is < 1 or > 65535)
            throw new ArgumentOutOfRangeException(nameof(port), port, "port must be in [1, 65535].");
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        if (limit <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), limit, "timeout must be positive.");
        if (!IsAvailable)
            throw new NotSupportedException(
                "This Equinox build has no distributed support: its LibTorch shim was compiled without Gloo's and c10d's " +
                "headers. Install them (sudo apt-get install libgloo-dev) and rebuild (dotnet build).");

        IPAddress ip;
        try
        {
            ip = TcpStoreServer.Resolve(address);
        }
        catch (IOException e)
        {
            throw new DistributedException(rank, worldSize, "Init", e.Message, e);
        }
        TcpStoreServer? server = null;
        if (hostStore)
        {
            try
            {
                server = TcpStoreServer.Start(ip.ToString(), port);
            }
            catch (IOException e)
            {
                throw new DistributedException(rank, worldSize, "Init", e.Message, e);
            }
        }
        var (device, isInterface) = GlooDevice(ip);
        var group = NativeMethods.eqx_dist_init(ip.ToString(), port, storePrefix, device, isInterface ? 1 : 0, rank, worldSize,
            (long)limit.TotalMilliseconds);
        if (group == IntPtr.Zero)
        {
            var message = NativeMethods.LastError();
            server?.Dispose();
            throw new DistributedException(rank, worldSize, "Init",
                $"joining the group through the store at {ip}:{port} failed: {message}");
        }
        return new ProcessGroup(group, server, rank, worldSize, localRank ?? rank, limit, new IPEndPoint(ip, port));
    }

    /// <summary>
    /// Joins the group torchrun describes in the environment: <c>MASTER_ADDR</c> (default 127.0.0.1),
    /// <c>MASTER_PORT</c> (default 29500), <c>RANK</c>, <c>WORLD_SIZE</c> and <c>LOCAL_RANK</c>. Under torchrun's
    /// elastic agent (<c>TORCHELASTIC_USE_AGENT_STORE=True</c>) the agent already hosts the store: every rank connects
    /// to it, under the agent's <c>/worker/attempt_N</c> prefix, as Python's workers do.
    /// </summary>
    /// <exception cref="InvalidOperationException">RANK or WORLD_SIZE is missing or not a number.</exception>
    public static ProcessGroup InitFromEnvironment(TimeSpan? timeout = null)
    {
        int rank = EnvironmentInt("RANK", null);
        int worldSize = EnvironmentInt("WORLD_SIZE", null);
        int localRank = EnvironmentInt("LOCAL_RANK", rank);
        int port = EnvironmentInt("MASTER_PORT", 29500);
        var address = Environment.GetEnvironmentVariable("MASTER_ADDR");
        if (string.IsNullOrWhiteSpace(address)) address = "127.0.0.1";
        if (Environment.GetEnvironmentVariable("TORCHELASTIC_USE_AGENT_STORE") == "True")
        {
            var attempt = Environment.GetEnvironmentVariable("TORCHELASTIC_RESTART_COUNT") is { Length: > 0 } a ? a : "0";
            return Init(rank, worldSize, address, port, timeout, localRank, hostStore: false, storePrefix: $"/worker/attempt_{attempt}");
        }
        return Init(rank, worldSize, address, port, timeout, localRank, hostStore: rank == 0, storePrefix: "");
    }

    /// <summary>Whether this process was started as a worker (torchrun or <see cref="DistributedLauncher"/> set RANK and WORLD_SIZE).</summary>
    public static bool IsWorkerEnvironment =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("RANK")) &&
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("WORLD_SIZE"));

    private static int EnvironmentInt(string name, int? fallback)
    {
        var text = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback ?? throw new InvalidOperationException(
                $"ProcessGroup.InitFromEnvironment needs the environment variable {name}, which is not set; start the " +
                "program with torchrun, DistributedLauncher, or set MASTER_ADDR, MASTER_PORT, RANK and WORLD_SIZE.");
        }
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            throw new InvalidOperationException($"The environment variable {name}='{text}' is not an integer.");
        return value;
    }

    // Where Gloo's sockets listen: GLOO_SOCKET_IFNAME as in Python; loopback for a loopback store; otherwise the
    // local address this machine uses to reach the store (the interface that faces the other machines).
    private static (string Device, bool IsInterface) GlooDevice(IPAddress store)
    {
        var ifname = Environment.GetEnvironmentVariable("GLOO_SOCKET_IFNAME");
        if (!string.IsNullOrWhiteSpace(ifname)) return (ifname.Split(',')[0], true);
        if (IPAddress.IsLoopback(store)) return (store.ToString(), false);
        using var probe = new Socket(store.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            probe.Connect(new IPEndPoint(store, 9));
            return (((IPEndPoint)probe.LocalEndPoint!).Address.ToString(), false);
        }
        catch (SocketException)
        {
            return (store.ToString(), false);
        }
    }

    /// <summary>Blocks until every rank has reached the barrier.</summary>
    /// <exception cref="DistributedException">A peer failed or the timeout passed.</exception>
    public void Barrier()
    {
        if (NativeMethods.eqx_dist_barrier(Handle(), TimeoutMs) < 0) throw Failed("Barrier");
    }

    internal long TimeoutMs => (long)Timeout.TotalMilliseconds;

    internal IntPtr Handle() => handle != IntPtr.Zero ? handle : throw new ObjectDisposedException(nameof(ProcessGroup),
        "This ProcessGroup was disposed; create a new one with ProcessGroup.Init.");

    internal DistributedException Failed(string collective, string? detail = null)
    {
        var message = NativeMethods.LastError();
        return new DistributedException(Rank, WorldSize, collective,
            $"{detail}{(detail is null ? "" : ": ")}{message}. {Peer()} may have exited or stopped calling the " +
            $"same collectives in the same order; every rank fails within the timeout ({Timeout.TotalSeconds:0.#} s).");
    }

    private string Peer() => WorldSize == 2 ? $"The other process, rank {1 - Rank}," : "A peer process";

    /// <summary>Leaves the group: closes the connections and, on rank 0, stops the store.</summary>
    public void Dispose()
    {
        var h = Interlocked.Exchange(ref handle, IntPtr.Zero);
        if (h != IntPtr.Zero) NativeMethods.eqx_dist_free(h);
        server?.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"ProcessGroup(rank {Rank} of {WorldSize}, store {StoreEndPoint})";
}
