using Fos.Kernel;
using Fos.Protocols.FileSystem;

namespace Fos.Sys;

/// <summary>
/// An open fos file as a <see cref="Stream"/>, so StreamReader, CopyToAsync and the rest of .NET
/// work on it. Calls go to the file-system member that keeps the handle. Writes are buffered (1
/// MiB) and sent on flush, seek, read or close; <see cref="DisposeAsync"/> closes the file, which
/// makes what was written durable. Read sequentially, it reads ahead: while the caller copies one
/// answer, the member already reads the next, as the host's page cache does. Like FileStream's
/// buffer (and NFS's close-to-open consistency), a read may then not show a write that another
/// process made after the previous read returned; <see cref="FosPosix.PRead"/> always does. On a
/// fos core only the asynchronous methods work: a blocking read would stall the very loop that
/// must deliver its answer.
/// </summary>
public sealed class FosFileStream : Stream
{
    // Writes travel in messages of up to 1 MiB: one round trip per MiB, not per 64 KiB block.
    private const int BufferSize = 16 * FsLimits.BlockSize;
    private readonly FsHandle handle;
    private readonly Endpoint server;
    private readonly bool canRead;
    private readonly bool canWrite;
    private readonly MemoryStream pending = new();
    private readonly CoreBound core = new();
    private byte[]? exchange; // lent to the member for each read (see FsRead.Into), so reads allocate nothing
    private Task<byte[]>? ahead; // the read after the last one, asked for before the caller asked
    private byte[]? aheadLent;
    private long aheadAt;
    private int aheadCount;
    private long lastEnd; // where the last read ended: a read that starts there is sequential
    private long pendingAt;
    private long position;
    private long length;
    private bool closed;

    internal FosFileStream(string path, FsOpened opened, bool canRead, bool canWrite, bool append)
    {
        Path = path;
        handle = opened.Handle;
        server = opened.Server;
        this.canRead = canRead;
        this.canWrite = canWrite;
        length = opened.Attributes.Size;
        position = lastEnd = append ? length : 0;
    }

    /// <summary>The path the file was opened by.</summary>
    public string Path { get; }

    public override bool CanRead => canRead && !closed;
    public override bool CanWrite => canWrite && !closed;
    public override bool CanSeek => !closed;

    public override long Length
    {
        get
        {
            Open();
            return pending.Length > 0 ? Math.Max(length, pendingAt + pending.Length) : length;
        }
    }

    public override long Position
    {
        get
        {
            Open();
            return position;
        }
        set => Seek(value, SeekOrigin.Begin);
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        Open();
        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => position + offset,
            SeekOrigin.End => Length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        if (target < 0) throw new FosIOException(Errno.EINVAL, $"cannot seek {Path} to {target}: before the start");
        position = target; // buffered writes stay where they were written; they go out before the next read or write elsewhere
        return position;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        new(core.Run(() => ReadCore(buffer)));

    private async Task<int> ReadCore(Memory<byte> buffer)
    {
        Open();
        if (!canRead) throw new FosIOException(Errno.EBADF, $"{Path} was opened for writing only");
        await FlushWrites();
        if (buffer.Length == 0) return 0;
        var count = Math.Min(buffer.Length, 4 << 20);
        byte[] data, lent;
        if (ahead is { } next && aheadAt == position && aheadCount == count)
        {
            (ahead, lent) = (null, aheadLent!);
            data = await next;
        }
        else
        {
            DropAhead();
            lent = Borrow(count);
            data = await SysCall.Fs<byte[]>(server, new FsRead(handle, position, count) { Into = lent });
        }
        // The next read goes out before this one is copied, so the member reads while we copy.
        if (position == lastEnd && data.Length == count && count >= FsLimits.BlockSize)
        {
            (aheadLent, aheadAt, aheadCount) = (Borrow(count), position + count, count);
            ahead = SysCall.Fs<byte[]>(server, new FsRead(handle, aheadAt, count) { Into = aheadLent }).AsTask(); // kept, and perhaps dropped unawaited
        }
        data.CopyTo(buffer);
        exchange = lent; // free again: the answer is copied
        lastEnd = position + data.Length;
        position += data.Length;
        return data.Length;
    }

    /// <summary>A buffer to lend for a read of <paramref name="count"/> bytes: the member's until it answers.</summary>
    private byte[] Borrow(int count)
    {
        var buffer = exchange?.Length == count ? exchange : new byte[count];
        exchange = null;
        return buffer;
    }

    /// <summary>Forgets a read ahead that will not be used, and the buffer it was lent (the member may still fill it).</summary>
    private void DropAhead()
    {
        if (ahead is null) return;
        ahead.ContinueWith(static read => _ = read.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        (ahead, aheadLent) = (null, null);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        new(core.Run(() => WriteCore(buffer)));

    private async Task<bool> WriteCore(ReadOnlyMemory<byte> buffer)
    {
        Open();
        if (!canWrite) throw new FosIOException(Errno.EBADF, $"{Path} was opened for reading only");
        DropAhead(); // what it read may be what this write changes
        if (pending.Length > 0 && pendingAt + pending.Length != position) await FlushWrites();
        if (pending.Length == 0) pendingAt = position;
        pending.Write(buffer.Span); // copied: the caller may reuse its buffer at once
        position += buffer.Length;
        if (pending.Length >= BufferSize) await FlushWrites();
        return true;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Sends buffered writes to the file system (they survive a crash of this process, not yet of the machine).</summary>
    public override Task FlushAsync(CancellationToken cancellationToken) => core.Run(async () =>
    {
        await FlushWrites();
        return true;
    });

    /// <summary>fsync: sends buffered writes and waits until everything written is durable.</summary>
    public Task SyncAsync() => core.Run(async () =>
    {
        Open();
        await FlushWrites();
        return await SysCall.Fs<Ack>(server, new FsSync(handle));
    });

    /// <summary>ftruncate.</summary>
    public override void SetLength(long value) => throw Blocking(nameof(SetLength), nameof(SetLengthAsync));

    public Task SetLengthAsync(long value) => core.Run(async () =>
    {
        Open();
        if (!canWrite) throw new FosIOException(Errno.EBADF, $"{Path} was opened for reading only");
        DropAhead();
        await FlushWrites();
        return length = await SysCall.Fs<long>(server, new FsTruncate(handle, value));
    });

    private async Task FlushWrites()
    {
        if (pending.Length == 0) return;
        var data = pending.ToArray();
        var at = pendingAt;
        pending.SetLength(0);
        try
        {
            length = Math.Max(length, await SysCall.Fs<long>(server, new FsWrite(handle, at, data)));
        }
        catch (FosIOException)
        {
            // Not written: the bytes stay buffered, so a later flush tries again or fails again,
            // never reports success for data that is not there.
            if (pending.Length == 0)
            {
                pending.Write(data);
                pendingAt = at;
            }
            throw;
        }
    }

    /// <summary>close: sends buffered writes, syncs, and lets the handle go.</summary>
    public override async ValueTask DisposeAsync()
    {
        if (closed) return;
        await core.Run(async () =>
        {
            DropAhead(); // it went out before the close, so it is answered before the handle goes
            try
            {
                await FlushWrites();
            }
            finally
            {
                closed = true;
                await SysCall.Fs<Ack>(server, new FsClose(handle));
            }
            return true;
        });
        GC.SuppressFinalize(this);
    }

    protected override void Dispose(bool disposing)
    {
        // A synchronous dispose cannot wait for the file system. Whatever is buffered is sent and
        // the close follows it (messages between two mailboxes keep their order), but nobody waits:
        // use `await using` when the data must be durable when the statement ends.
        if (disposing && !closed)
        {
            closed = true;
            var writes = pending.Length > 0 ? new FsWrite(handle, pendingAt, pending.ToArray()) : null;
            _ = core.Run(() =>
            {
                if (writes is not null) core.Kernel.Send(server, writes);
                core.Kernel.Send(server, new FsClose(handle));
                return Task.FromResult(true);
            });
        }
        base.Dispose(disposing);
    }

    public override int Read(byte[] buffer, int offset, int count) => throw Blocking(nameof(Read), nameof(ReadAsync));

    public override void Write(byte[] buffer, int offset, int count) => throw Blocking(nameof(Write), nameof(WriteAsync));

    public override void Flush()
    {
        if (pending.Length > 0) throw Blocking(nameof(Flush), nameof(FlushAsync));
    }

    private void Open() => ObjectDisposedException.ThrowIf(closed, this);

    private NotSupportedException Blocking(string method, string instead) =>
        new($"{method} would block the fos core that must deliver its answer: use {instead} on {Path}");
}
