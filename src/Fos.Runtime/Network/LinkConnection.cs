using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;

namespace Fos.Runtime.Network;

/// <summary>
/// One authenticated connection to another machine: frames, each a 4-byte little-endian length
/// and that many bytes, both ways. Writes are batched the way Orleans' connections do it: frames
/// queue while a write is under way and the next write takes all of them with one flush, so a
/// busy link pays one system call for many frames and an idle one sends at once. Reads collect
/// every whole frame that arrived and hand them over together. A length past
/// <see cref="MaxFrame"/> ends the connection before anything is allocated for it.
/// </summary>
internal sealed class LinkConnection : IAsyncDisposable
{
    public const int MaxFrame = 16 << 20;
    private const int LengthBytes = sizeof(int);

    private readonly Stream stream;
    private readonly Lock queueLock = new();
    private readonly CancellationTokenSource closing = new();
    private ArrayBufferWriter<byte> queued = new(64 << 10);
    private ArrayBufferWriter<byte> writing = new(64 << 10);
    private TaskCompletionSource more = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? pumps;
    private int closed;

    public LinkConnection(ushort peer, Stream stream)
    {
        Peer = peer;
        this.stream = stream;
    }

    public ushort Peer { get; }

    /// <summary>Why the connection ended, once it has.</summary>
    public string? Ended { get; private set; }

    public long FramesSent { get; private set; }

    public long Writes { get; private set; }

    /// <summary>Runs the reader and writer until the connection ends; <paramref name="received"/> gets each batch of whole frames.</summary>
    public Task Run(Action<IReadOnlyList<byte[]>> received)
    {
        pumps = Task.WhenAll(Read(received), Write());
        return pumps.ContinueWith(_ => { }, TaskScheduler.Default);
    }

    /// <summary>Queues a frame (copied); false once the connection has ended.</summary>
    public bool Send(ReadOnlySpan<byte> frame)
    {
        if (frame.Length > MaxFrame) throw new ArgumentOutOfRangeException(nameof(frame), frame.Length, $"a frame is at most {MaxFrame} bytes");
        TaskCompletionSource wake;
        lock (queueLock)
        {
            if (Volatile.Read(ref closed) != 0) return false;
            BinaryPrimitives.WriteInt32LittleEndian(queued.GetSpan(LengthBytes), frame.Length);
            queued.Advance(LengthBytes);
            frame.CopyTo(queued.GetSpan(frame.Length));
            queued.Advance(frame.Length);
            FramesSent++;
            wake = more;
        }
        wake.TrySetResult();
        return true;
    }

    private async Task Write()
    {
        try
        {
            while (!closing.IsCancellationRequested)
            {
                Task waiting;
                lock (queueLock)
                {
                    if (queued.WrittenCount == 0)
                    {
                        more = new(TaskCreationOptions.RunContinuationsAsynchronously);
                        waiting = more.Task;
                    }
                    else
                    {
                        (queued, writing) = (writing, queued);
                        waiting = Task.CompletedTask;
                    }
                }
                if (!waiting.IsCompleted)
                {
                    await waiting.WaitAsync(closing.Token);
                    continue;
                }
                await stream.WriteAsync(writing.WrittenMemory, closing.Token);
                await stream.FlushAsync(closing.Token);
                Writes++;
                writing.ResetWrittenCount();
                if (writing.Capacity > 4 << 20) writing = new(64 << 10); // a burst does not pin its buffer for good
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
            Close(ex is OperationCanceledException ? "closed" : ex.Message);
        }
    }

    private async Task Read(Action<IReadOnlyList<byte[]>> received)
    {
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 << 10, leaveOpen: true));
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(closing.Token);
                var buffer = result.Buffer;
                var frames = new List<byte[]>();
                while (TryFrame(ref buffer, out var frame)) frames.Add(frame);
                if (frames.Count > 0) received(frames);
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    Close(buffer.IsEmpty ? "the other side closed the link" : "the other side closed the link in the middle of a frame");
                    return;
                }
            }
        }
        catch (InvalidDataException ex)
        {
            Close(ex.Message);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
            Close(ex is OperationCanceledException ? "closed" : ex.Message);
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    /// <summary>Takes one whole frame off the front of <paramref name="buffer"/>, if one is there.</summary>
    /// <exception cref="InvalidDataException">The length is negative or past <see cref="MaxFrame"/>.</exception>
    private static bool TryFrame(ref ReadOnlySequence<byte> buffer, out byte[] frame)
    {
        frame = [];
        if (buffer.Length < LengthBytes) return false;
        Span<byte> prefix = stackalloc byte[LengthBytes];
        buffer.Slice(0, LengthBytes).CopyTo(prefix);
        var length = BinaryPrimitives.ReadInt32LittleEndian(prefix);
        if (length is < 0 or > MaxFrame)
            throw new InvalidDataException($"a frame of {length} bytes (at most {MaxFrame}): the other side does not speak the link protocol");
        if (buffer.Length < LengthBytes + length) return false;
        frame = buffer.Slice(LengthBytes, length).ToArray();
        buffer = buffer.Slice(LengthBytes + length);
        return true;
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
        closing.Cancel();
        more.TrySetResult();
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
        if (pumps is not null) await pumps.ContinueWith(_ => { }, TaskScheduler.Default);
        closing.Dispose();
    }
}
