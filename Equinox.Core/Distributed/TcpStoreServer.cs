using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Equinox.Distributed;

/// <summary>
/// The key-value store that ranks meet at, speaking the wire protocol of LibTorch 1.13's <c>c10d::TCPStore</c>, so
/// LibTorch's client (every Equinox rank) and Python's <c>torch.distributed.TCPStore(..., is_master=False)</c> use it
/// unchanged. It exists because LibTorch 1.13's own server binds every interface; this one listens only on the
/// address it is given. <see cref="ProcessGroup"/> starts one on rank 0.
/// </summary>
/// <remarks>
/// Protocol (1.13, little-endian, no handshake): a query is one type byte, then its arguments; a string or byte vector
/// is a uint64 length and the bytes, an integer is its 8 bytes, CHECK and WAIT first send a uint64 key count. Each
/// client opens two connections: one for queries, one for watch-key callbacks.
/// </remarks>
public sealed class TcpStoreServer : IDisposable
{
    private enum Query : byte { Set, CompareSet, Get, Add, Check, Wait, GetNumKeys, WatchKey, DeleteKey }

    private enum Watch : byte { KeyUpdated, KeyCreated, KeyDeleted, KeyCallbackRegistered }

    private readonly Socket listener;
    private readonly CancellationTokenSource stopping = new();
    private readonly object gate = new();
    private readonly Dictionary<string, byte[]> values = new(StringComparer.Ordinal);
    private readonly List<(string[] Keys, TaskCompletionSource Ready)> waiters = [];
    private readonly Dictionary<string, List<Connection>> watchers = new(StringComparer.Ordinal);
    private readonly List<Connection> connections = [];
    private readonly Task acceptLoop;

    private TcpStoreServer(Socket listener)
    {
        this.listener = listener;
        EndPoint = (IPEndPoint)listener.LocalEndPoint!;
        acceptLoop = Task.Run(AcceptAsync);
    }

    /// <summary>The address and port the server listens on (the port the OS chose when 0 was asked for).</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>The number of keys stored.</summary>
    public int KeyCount
    {
        get { lock (gate) return values.Count; }
    }

    /// <summary>
    /// Starts a server listening on <paramref name="address"/> (an IP address or a host name of this machine) and
    /// <paramref name="port"/> (0: any free port) only.
    /// </summary>
    /// <exception cref="IOException">The port is in use, or the address is not one of this machine's.</exception>
    public static TcpStoreServer Start(string address, int port)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        var ip = Resolve(address);
        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(ip, port));
            socket.Listen(512);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw e.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => new IOException(
                    $"cannot host the store on {ip}:{port}: the port is already in use by another process. " +
                    "Choose a free port (MASTER_PORT under torchrun).", e),
                SocketError.AddressNotAvailable => new IOException(
                    $"cannot host the store on {address}:{port}: {ip} is not an address of this machine. Rank 0 hosts " +
                    "the store, so MASTER_ADDR must name rank 0's own machine (127.0.0.1 for a run on one machine).", e),
                _ => new IOException($"cannot host the store on {address}:{port}: {e.Message}", e),
            };
        }
        return new TcpStoreServer(socket);
    }

    /// <summary>An IPv4 or IPv6 address for <paramref name="address"/>, preferring IPv4 for a host name.</summary>
    internal static IPAddress Resolve(string address)
    {
        if (IPAddress.TryParse(address, out var ip)) return ip;
        IPAddress[] found;
        try
        {
            found = Dns.GetHostAddresses(address);
        }
        catch (SocketException e)
        {
            throw new IOException($"cannot resolve the store address '{address}': {e.Message}", e);
        }
        return found.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? found.FirstOrDefault()
            ?? throw new IOException($"the store address '{address}' resolves to no address.");
    }

    /// <summary>Stops listening and closes every connection; clients then fail on their next query.</summary>
    public void Dispose()
    {
        if (stopping.IsCancellationRequested) return;
        stopping.Cancel();
        listener.Dispose();
        Connection[] open;
        lock (gate)
        {
            open = [.. connections];
            foreach (var (_, ready) in waiters) ready.TrySetCanceled();
            waiters.Clear();
        }
        foreach (var c in open) c.Socket.Dispose();
        try
        {
            acceptLoop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
        stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            client.NoDelay = true;
            var connection = new Connection(client);
            lock (gate) connections.Add(connection);
            _ = Task.Run(() => ServeAsync(connection));
        }
    }

    private sealed class Connection(Socket socket)
    {
        public Socket Socket { get; } = socket;
        public NetworkStream Stream { get; } = new(socket, ownsSocket: true);
        public SemaphoreSlim WriteLock { get; } = new(1, 1);

        public async Task SendAsync(byte[] data)
        {
            await WriteLock.WaitAsync().ConfigureAwait(false);
            try
            {
                await Stream.WriteAsync(data).ConfigureAwait(false);
            }
            finally
            {
                WriteLock.Release();
            }
        }
    }

    // One connection: queries one after another until the client closes it or sends something this server does not
    // understand (LibTorch's server closes the connection then too).
    private async Task ServeAsync(Connection c)
    {
        var token = stopping.Token;
        try
        {
            var type = new byte[1];
            while (!token.IsCancellationRequested)
            {
                if (await c.Stream.ReadAsync(type, token).ConfigureAwait(false) == 0) break;
                switch ((Query)type[0])
                {
                    case Query.Set:
                    {
                        var key = await ReadStringAsync(c, token);
                        var value = await ReadBytesAsync(c, token);
                        await StoreAsync(key, value);
                        break;
                    }
                    case Query.CompareSet:
                    {
                        var key = await ReadStringAsync(c, token);
                        var expected = await ReadBytesAsync(c, token);
                        var desired = await ReadBytesAsync(c, token);
                        byte[] reply;
                        bool stored = false;
                        byte[]? old;
                        lock (gate)
                        {
                            values.TryGetValue(key, out old);
                            if (old is null ? expected.Length == 0 : old.AsSpan().SequenceEqual(expected))
                            {
                                values[key] = desired;
                                stored = true;
                                reply = desired;
                            }
                            else
                            {
                                // As LibTorch 1.13: a missing key with a non-empty expectation answers the expectation.
                                reply = old ?? expected;
                            }
                        }
                        if (stored) await NotifyAsync(key, old is null ? Watch.KeyCreated : Watch.KeyUpdated, old ?? [], desired);
                        await c.SendAsync(Vector(reply));
                        break;
                    }
                    case Query.Get:
                    {
                        var key = await ReadStringAsync(c, token);
                        byte[]? value;
                        lock (gate) values.TryGetValue(key, out value);
                        if (value is null) return; // as LibTorch's server: a GET of a missing key drops the client
                        await c.SendAsync(Vector(value));
                        break;
                    }
                    case Query.Add:
                    {
                        var key = await ReadStringAsync(c, token);
                        long delta = BinaryPrimitives.ReadInt64LittleEndian(await ReadExactAsync(c, 8, token));
                        byte[]? old;
                        byte[] updated;
                        long total;
                        lock (gate)
                        {
                            values.TryGetValue(key, out old);
                            total = delta + (old is null ? 0 : long.Parse(Encoding.ASCII.GetString(old), System.Globalization.CultureInfo.InvariantCulture));
                            updated = Encoding.ASCII.GetBytes(total.ToString(System.Globalization.CultureInfo.InvariantCulture));
                            values[key] = updated;
                        }
                        await c.SendAsync(Int64(total));
                        WakeWaiters();
                        await NotifyAsync(key, old is null ? Watch.KeyCreated : Watch.KeyUpdated, old ?? [], updated);
                        break;
                    }
                    case Query.Check:
                    {
                        var keys = await ReadKeysAsync(c, token);
                        bool ready;
                        lock (gate) ready = keys.All(values.ContainsKey);
                        await c.SendAsync([ready ? (byte)0 : (byte)1]);
                        break;
                    }
                    case Query.Wait:
                    {
                        var keys = await ReadKeysAsync(c, token);
                        TaskCompletionSource? pending = null;
                        lock (gate)
                        {
                            if (!keys.All(values.ContainsKey))
                            {
                                pending = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                                waiters.Add((keys, pending));
                            }
                        }
                        if (pending is not null) await pending.Task.WaitAsync(token).ConfigureAwait(false);
                        await c.SendAsync([0]); // STOP_WAITING
                        break;
                    }
                    case Query.GetNumKeys:
                    {
                        long count;
                        lock (gate) count = values.Count;
                        await c.SendAsync(Int64(count));
                        break;
                    }
                    case Query.WatchKey:
                    {
                        var key = await ReadStringAsync(c, token);
                        lock (gate)
                        {
                            if (!watchers.TryGetValue(key, out var list)) watchers[key] = list = [];
                            list.Add(c);
                        }
                        await c.SendAsync([(byte)Watch.KeyCallbackRegistered]);
                        break;
                    }
                    case Query.DeleteKey:
                    {
                        var key = await ReadStringAsync(c, token);
                        byte[]? old;
                        lock (gate)
                        {
                            if (values.Remove(key, out old)) { }
                        }
                        if (old is not null) await NotifyAsync(key, Watch.KeyDeleted, old, []);
                        await c.SendAsync(Int64(old is null ? 0 : 1));
                        break;
                    }
                    default:
                        return;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException
                                      or EndOfStreamException or FormatException or OverflowException)
        {
            // The client went away or broke the protocol: drop it, as LibTorch's server does.
        }
        finally
        {
            lock (gate)
            {
                connections.Remove(c);
                foreach (var list in watchers.Values) list.Remove(c);
            }
            c.Stream.Dispose();
        }
    }

    private async Task StoreAsync(string key, byte[] value)
    {
        byte[]? old;
        lock (gate)
        {
            values.TryGetValue(key, out old);
            values[key] = value;
        }
        WakeWaiters();
        await NotifyAsync(key, old is null ? Watch.KeyCreated : Watch.KeyUpdated, old ?? [], value);
    }

    private void WakeWaiters()
    {
        List<TaskCompletionSource> ready = [];
        lock (gate)
        {
            for (int i = waiters.Count - 1; i >= 0; i--)
            {
                if (!waiters[i].Keys.All(values.ContainsKey)) continue;
                ready.Add(waiters[i].Ready);
                waiters.RemoveAt(i);
            }
        }
        foreach (var r in ready) r.TrySetResult();
    }

    private async Task NotifyAsync(string key, Watch kind, byte[] old, byte[] updated)
    {
        Connection[] targets;
        lock (gate) targets = watchers.TryGetValue(key, out var list) ? [.. list] : [];
        if (targets.Length == 0) return;
        var message = new List<byte> { (byte)kind };
        message.AddRange(Vector(Encoding.UTF8.GetBytes(key)));
        message.AddRange(Vector(old));
        message.AddRange(Vector(updated));
        var bytes = message.ToArray();
        foreach (var t in targets)
        {
            try
            {
                await t.SendAsync(bytes).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
            {
            }
        }
    }

    private static async Task<byte[]> ReadExactAsync(Connection c, int count, CancellationToken token)
    {
        var buffer = new byte[count];
        await c.Stream.ReadExactlyAsync(buffer, token).ConfigureAwait(false);
        return buffer;
    }

    // A uint64 length, then the bytes. A length past 1 GiB is a broken or foreign client, not data.
    private static async Task<byte[]> ReadBytesAsync(Connection c, CancellationToken token)
    {
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(await ReadExactAsync(c, 8, token));
        if (length > 1UL << 30) throw new FormatException($"a store value of {length} bytes");
        return await ReadExactAsync(c, (int)length, token);
    }

    private static async Task<string> ReadStringAsync(Connection c, CancellationToken token) =>
        Encoding.UTF8.GetString(await ReadBytesAsync(c, token));

    private static async Task<string[]> ReadKeysAsync(Connection c, CancellationToken token)
    {
        ulong count = BinaryPrimitives.ReadUInt64LittleEndian(await ReadExactAsync(c, 8, token));
        if (count > 1 << 20) throw new FormatException($"{count} keys in one query");
        var keys = new string[count];
        for (int i = 0; i < keys.Length; i++) keys[i] = await ReadStringAsync(c, token);
        return keys;
    }

    private static byte[] Vector(byte[] data)
    {
        var bytes = new byte[8 + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)data.Length);
        data.CopyTo(bytes, 8);
        return bytes;
    }

    private static byte[] Int64(long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        return bytes;
    }
}
