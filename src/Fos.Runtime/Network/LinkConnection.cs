using System.Buffers;
using System.Buffers.Binary;

namespace Fos.Runtime.Network;

/// <summary>
/// One authenticated connection to another machine: frames, each a 4-byte little-endian length
/// and that many bytes, both ways. Frames queue as the proxy sends them and go out when it
/// flushes, once per turn of its core, in one write: a busy link pays one system call for many
/// frames, an idle one sends at once, and no thread has to be woken to write (on a small host a
/// wake-up costs more than the write). A thread of its own reads, blocking in the kernel until
/// bytes come, and hands over every whole frame that arrived together. A length past
/// <see cref="MaxFrame"/> ends the connection before anything is allocated for it.
/// </summary>
internal sealed class LinkConnection : IAsyncDisposable
{
    public const int MaxFrame = 16 << 20;
    private const int LengthBytes = sizeof(int);

    private readonly Stream stream;
    private readonly System.Net.Sockets.Socket socket;
    private readonly Lock queueLock = new();
    private readonly Lock writeLock = new();
    private readonly TaskCompletionSource finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ArrayBufferWriter<byte> queued = new(64 << 10);
    private ArrayBufferWriter<byte> writing = new(64 << 10);
    private int closed;

    public LinkConnection(ushort peer, Stream stream, System.Net.Sockets.Socket socket)
    {
        Peer = peer;
        this.stream = stream;
        this.socket = socket;
    }

    public ushort Peer { get; }

    /// <summary>Why the connection ended, once it has.</summary>
    public string? Ended { get; private set; }

    /// <summary>Runs the reader until the connection ends; <paramref name="received"/> gets each batch of whole frames, on the reader's thread.</summary>
    public Task Run(Action<IReadOnlyList<byte[]>> received)
    {
        var reader = new Thread(() => Read(received)) { IsBackground = true, Name = $"fos link m{Peer} reader" };
        reader.Start();
        return finished.Task;
    }

    /// <summary>Queues a frame (copied) for the next <see cref="Flush"/>; false once the connection has ended.</summary>
    public bool Send(ReadOnlySpan<byte> frame)
    {
        if (frame.Length > MaxFrame) throw new ArgumentOutOfRangeException(nameof(frame), frame.Length, $"a frame is at most {MaxFrame} bytes");
        lock (queueLock)
        {
            if (Volatile.Read(ref closed) != 0) return false;
            BinaryPrimitives.WriteInt32LittleEndian(queued.GetSpan(LengthBytes), frame.Length);
            queued.Advance(LengthBytes);
            frame.CopyTo(queued.GetSpan(frame.Length));
            queued.Advance(frame.Length);
        }
        return true;
    }

    /// <summary>Writes everything queued, in one write, on the calling thread (a stalled peer ends the connection after the socket's send timeout).</summary>
    public void Flush()
    {
        lock (writeLock)
        {
            lock (queueLock)
            {
                if (queued.WrittenCount == 0 || closed != 0) return;
                (queued, writing) = (writing, queued);
            }
            try
            {
                stream.Write(writing.WrittenSpan);
                stream.Flush();
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or System.Security.Authentication.AuthenticationException)
            {
                Close(ex.Message);
            }
            writing.ResetWrittenCount();
            if (writing.Capacity > 4 << 20) writing = new(64 << 10); // a burst does not pin its buffer for good
        }
    }

    private void Read(Action<IReadOnlyList<byte[]>> received)
    {
        var buffer = new byte[256 << 10];
        var filled = 0;
        try
        {
            while (Volatile.Read(ref closed) == 0)
            {
                if (filled == buffer.Length)
                {
                    // A frame larger than the buffer: grow to hold it (its length was checked against MaxFrame).
                    Array.Resize(ref buffer, Math.Min(buffer.Length * 2, MaxFrame + LengthBytes));
                }
                var read = stream.Read(buffer, filled, buffer.Length - filled);
                if (read == 0)
                {
                    Close(filled == 0 ? "the other side closed the link" : "the other side closed the link in the middle of a frame");
                    break;
                }
                filled += read;
                var frames = new List<byte[]>();
                var at = 0;
                while (filled - at >= LengthBytes)
                {
                    var length = BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(at));
                    if (length is < 0 or > MaxFrame)
                        throw new InvalidDataException($"a frame of {length} bytes (at most {MaxFrame}): the other side does not speak the link protocol");
                    if (filled - at - LengthBytes < length)
                    {
                        if (LengthBytes + length > buffer.Length) Array.Resize(ref buffer, LengthBytes + length + (64 << 10));
                        break;
                    }
                    frames.Add(buffer.AsSpan(at + LengthBytes, length).ToArray());
                    at += LengthBytes + length;
                }
                if (at > 0)
                {
                    buffer.AsSpan(at, filled - at).CopyTo(buffer);
                    filled -= at;
                }
                if (frames.Count > 0) received(frames);
            }
        }
        catch (InvalidDataException ex)
        {
            Close(ex.Message);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or System.Security.Authentication.AuthenticationException)
        {
            Close(ex.Message);
        }
        finally
        {
            finished.TrySetResult();
        }
    }

    /// <summary>Ends the connection (once), saying why.</summary>
    public void Close(string why)
    {
        lock (queueLock)
        {
            if (closed != 0) return;
            closed = 1;
            Ended = why;
        }
        try
        {
            // Shut down first: on Linux, closing a socket does not wake a thread blocked reading it.
            socket.Shutdown(System.Net.Sockets.SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // Not connected any more.
        }
        try
        {
            stream.Dispose();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
            // Broken already.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Close("closed");
        await finished.Task;
    }
}
