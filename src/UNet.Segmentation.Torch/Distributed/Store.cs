using System.Text;
using static UNet.Segmentation.Torch.Native.NativeMethods;
using static UNet.Segmentation.Torch.Native.NativeStatus;

namespace UNet.Segmentation.Torch.Distributed;

/// <summary>
/// A c10d key-value store where the ranks of a data-parallel job meet (rendezvous): a TCP store
/// served by rank 0 (torchrun's MASTER_ADDR:MASTER_PORT), or a file on a file system every rank
/// sees. Dispose it after the <see cref="ProcessGroup"/>s made over it.
/// </summary>
public sealed class Store : IDisposable
{
    private Store(StoreHandle handle, string description)
    {
        Handle = handle;
        Description = description;
    }

    internal StoreHandle Handle { get; }

    /// <summary>Where the store lives: tcp://host:port or file://path.</summary>
    public string Description { get; }

    /// <summary>
    /// Connects to (or, with <paramref name="isServer"/>, serves and connects to) the TCP store at
    /// <paramref name="host"/>:<paramref name="port"/>; returns once all <paramref name="worldSize"/>
    /// ranks have connected, or throws <see cref="DistributedException"/> after <paramref name="timeout"/>.
    /// </summary>
    public static Store Tcp(string host, int port, bool isServer, int worldSize, TimeSpan timeout)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        long ms = Milliseconds(timeout);
        Check(uts_tcp_store_create(host, port, isServer ? (byte)1 : (byte)0, worldSize, ms, out var raw));
        return new Store(new StoreHandle(raw), $"tcp://{host}:{port}");
    }

    /// <summary>A store in the file at <paramref name="path"/> (which should not exist before the job starts).</summary>
    public static Store File(string path, int worldSize, TimeSpan timeout)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        long ms = Milliseconds(timeout);
        Check(uts_file_store_create(path, worldSize, ms, out var raw));
        return new Store(new StoreHandle(raw), $"file://{path}");
    }

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/>.</summary>
    public unsafe void Set(string key, ReadOnlySpan<byte> value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        fixed (byte* p = value) Check(uts_store_set(Handle, key, p, value.Length));
    }

    /// <summary>Stores a UTF-8 string.</summary>
    public void Set(string key, string value) => Set(key, Encoding.UTF8.GetBytes(value ?? throw new ArgumentNullException(nameof(value))));

    /// <summary>The value under <paramref name="key"/>, waiting for it up to the store's timeout (then <see cref="DistributedException"/>).</summary>
    public unsafe byte[] Get(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var buffer = new byte[256];
        while (true)
        {
            long n;
            int status;
            fixed (byte* p = buffer) status = uts_store_get(Handle, key, p, buffer.Length, out n);
            if (status == InvalidArgument && n > buffer.Length)
            {
                buffer = new byte[n];
                continue;
            }
            Check(status);
            return buffer.AsSpan(0, (int)n).ToArray();
        }
    }

    /// <summary>A UTF-8 string stored by <see cref="Set(string, string)"/>.</summary>
    public string GetString(string key) => Encoding.UTF8.GetString(Get(key));

    internal static long Milliseconds(TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "the timeout must be positive");
        return Math.Max(1, (long)Math.Ceiling(timeout.TotalMilliseconds));
    }

    /// <summary>Disconnects (the server stops serving when rank 0 disposes it).</summary>
    public void Dispose() => Handle.Dispose();
}
