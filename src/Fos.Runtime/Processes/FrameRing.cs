using System.Numerics;

namespace Fos.Runtime.Processes;

/// <summary>
/// A single-producer/single-consumer ring of variable-length byte frames over shared memory: the
/// link between the machine and one application process. As in Barrelfish's URPC, the producer
/// owns one cache line (the tail) and the consumer another (the head), so a message moves the
/// data and one index line between the two processes, and neither side ever writes the other's.
/// <code>
/// [0, 64)                 tail: int64 byte position the producer has published up to
/// [64, 128)               head: int64 byte position the consumer has released up to
/// [128, 128 + capacity)   data: records [int32 length][payload][pad to 8]; length -1 wraps to 0
/// </code>
/// Positions only grow; a position's offset in the data area is position &amp; (capacity - 1).
/// The peer may be hostile: it can write anything into the region at any time. So each side keeps
/// its own index privately (never reading it back), validates the peer's index and every length
/// before use, and the consumer copies a frame into private memory before releasing it: the peer
/// can change nothing between the check and the use. A broken rule poisons the ring for good.
/// Each side of a ring is used by one thread; the region must outlive the ring.
/// </summary>
public sealed unsafe class FrameRing
{
    /// <summary>Bytes before the data area: the tail's and the head's cache lines.</summary>
    public const int HeaderBytes = 128;

    /// <summary>The smallest data area.</summary>
    public const int MinCapacity = 4096;

    private const int HeadOffset = 64;
    private const int LengthBytes = sizeof(int);
    private const int WrapMarker = -1;

    private readonly long* tailLine;
    private readonly long* headLine;
    private readonly byte* data;
    private readonly int capacity;
    private readonly int mask;
    private readonly bool hostilePeer;

    // Producer's side: its own tail, and the head as last read (re-read only when short of room).
    private long tail;
    private long cachedHead;

    // Consumer's side: its own head, and the tail as last read and validated (re-read only when
    // every frame up to it is consumed).
    private long head;
    private long cachedTail;

    private string? corruption;

    /// <summary>
    /// A ring over a region that <see cref="Initialize(byte*, int)"/> prepared. With
    /// <paramref name="hostilePeer"/>, a broken rule is reported (Corrupt, or InvalidDataException
    /// to the producer) as the peer's doing; without, it is a bug here and throws InvalidOperationException.
    /// Both check everything: memory safety never depends on trusting the peer.
    /// </summary>
    public FrameRing(byte* region, int regionBytes, bool hostilePeer)
    {
        capacity = CapacityOf(region, regionBytes);
        mask = capacity - 1;
        tailLine = (long*)region;
        headLine = (long*)(region + HeadOffset);
        data = region + HeaderBytes;
        this.hostilePeer = hostilePeer;
        tail = Volatile.Read(ref *tailLine);
        head = Volatile.Read(ref *headLine);
        cachedHead = head;
        cachedTail = head;
        if (!Plausible(tail, head)) Poison($"the header holds tail {tail} and head {head}");
    }

    /// <summary>A ring over [offset, offset + regionBytes) of a mapping.</summary>
    public FrameRing(SharedMemory memory, long offset, int regionBytes, bool hostilePeer)
        : this(memory.At(offset, regionBytes), regionBytes, hostilePeer)
    {
    }

    /// <summary>Prepares an empty ring: called once, by the side that made the memory, before any peer runs.</summary>
    public static void Initialize(byte* region, int regionBytes)
    {
        CapacityOf(region, regionBytes);
        new Span<byte>(region, HeaderBytes).Clear();
    }

    public static void Initialize(SharedMemory memory, long offset, int regionBytes) =>
        Initialize(memory.At(offset, regionBytes), regionBytes);

    /// <summary>The region a ring of <paramref name="capacity"/> data bytes takes.</summary>
    public static int RegionBytes(int capacity)
    {
        if (capacity < MinCapacity || !BitOperations.IsPow2(capacity) || capacity > 1 << 30)
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, $"a ring's capacity is a power of two from {MinCapacity} bytes to 1 GiB");
        return HeaderBytes + capacity;
    }

    /// <summary>Data bytes.</summary>
    public int Capacity => capacity;

    /// <summary>
    /// The largest frame: half the data area less a length word, so that an empty ring takes it
    /// wherever the tail stands (a wrap may skip up to a record less 8 bytes at the end).
    /// </summary>
    public int MaxFrame => capacity / 2 - LengthBytes;

    public bool IsCorrupt => corruption is not null;

    /// <summary>Which rule the peer broke, once the ring is corrupt.</summary>
    public string? Corruption => corruption;

    /// <summary>
    /// Producer: appends one frame, <paramref name="header"/> then <paramref name="body"/> (two
    /// parts, so the caller need not join them); false when the ring has no room for it now.
    /// </summary>
    public bool TryWrite(ReadOnlySpan<byte> header, ReadOnlySpan<byte> body)
    {
        ThrowIfCorrupt();
        var length = (long)header.Length + body.Length;
        if (length > MaxFrame)
            throw new ArgumentException($"a frame of {length} bytes is larger than the ring's largest, {MaxFrame}", nameof(body));
        var record = RecordBytes((int)length);
        var offset = (int)(tail & mask);
        var skip = capacity - offset >= record ? 0 : capacity - offset;
        if (skip + record > capacity - (tail - cachedHead))
        {
            RefreshHead();
            if (skip + record > capacity - (tail - cachedHead)) return false;
        }
        if (skip != 0)
        {
            *(int*)(data + offset) = WrapMarker;
            offset = 0;
        }
        *(int*)(data + offset) = (int)length;
        header.CopyTo(new Span<byte>(data + offset + LengthBytes, header.Length));
        body.CopyTo(new Span<byte>(data + offset + LengthBytes + header.Length, body.Length));
        tail += skip + record;
        // Release: the consumer that sees the new tail sees every byte written before it.
        Volatile.Write(ref *tailLine, tail);
        return true;
    }

    public bool TryWrite(ReadOnlySpan<byte> frame) => TryWrite(frame, default);

    /// <summary>Consumer: whether a frame is waiting (false on a corrupt ring), at most one shared read.</summary>
    public bool HasFrame => corruption is null && (cachedTail != head || Volatile.Read(ref *tailLine) != head);

    /// <summary>
    /// Consumer: copies the next frame into <paramref name="buffer"/> (grown when too small; the
    /// caller keeps it for the next read) and sets <paramref name="length"/>. Only then is the
    /// frame's space released to the producer: what the caller parses is private memory that the
    /// peer can no longer change.
    /// </summary>
    public FrameReadResult TryRead(ref byte[] buffer, out int length)
    {
        length = 0;
        if (corruption is not null) return Poison(corruption);
        if (cachedTail == head)
        {
            // Acquire: the payload bytes below the tail read are the ones the producer published.
            var published = Volatile.Read(ref *tailLine);
            if (published == head) return FrameReadResult.Empty;
            if (!Plausible(published, head)) return Poison($"tail {published} against head {head}");
            cachedTail = published;
        }
        var available = cachedTail - head;
        var offset = (int)(head & mask);
        var frameLength = Volatile.Read(ref *(int*)(data + offset)); // read once: the peer may rewrite it any time
        var skip = 0;
        if (frameLength == WrapMarker)
        {
            skip = capacity - offset;
            if (available - skip < 8) return Poison($"a wrap marker at {head} with no frame after it");
            offset = 0;
            frameLength = Volatile.Read(ref *(int*)data);
        }
        if (frameLength < 0 || frameLength > MaxFrame) return Poison($"a frame length of {frameLength} at {head + skip}");
        var record = RecordBytes(frameLength);
        if (skip != 0 && record <= skip) return Poison($"a wrap marker at {head} where a frame of {frameLength} bytes fit");
        if (offset + record > capacity) return Poison($"a frame of {frameLength} bytes at {head} running past the end of the data area");
        if (skip + record > available) return Poison($"a frame of {frameLength} bytes at {head + skip} running past tail {cachedTail}");

        if (buffer.Length < frameLength) buffer = new byte[BitOperations.RoundUpToPowerOf2((uint)frameLength)];
        new ReadOnlySpan<byte>(data + offset + LengthBytes, frameLength).CopyTo(buffer);
        head += skip + record;
        // Release: the producer that sees the new head may overwrite the space; our copy is done.
        Volatile.Write(ref *headLine, head);
        length = frameLength;
        return FrameReadResult.Frame;
    }

    private void RefreshHead()
    {
        var released = Volatile.Read(ref *headLine);
        if (!Plausible(tail, released) || released - cachedHead < 0)
        {
            Poison($"head {released} against tail {tail} (head was {cachedHead})");
            ThrowIfCorrupt();
        }
        cachedHead = released;
    }

    /// <summary>Positions a well-behaved peer can leave: aligned records, at most a ring apart, tail not behind head.</summary>
    private bool Plausible(long tailPosition, long headPosition)
    {
        var used = tailPosition - headPosition;
        return used >= 0 && used <= capacity && ((tailPosition | headPosition) & 7) == 0;
    }

    private static int RecordBytes(int frameLength) => (LengthBytes + frameLength + 7) & ~7;

    private FrameReadResult Poison(string reason)
    {
        corruption ??= reason;
        if (!hostilePeer) throw new InvalidOperationException($"frame ring broken: {corruption}");
        return FrameReadResult.Corrupt;
    }

    private void ThrowIfCorrupt()
    {
        if (corruption is null) return;
        if (!hostilePeer) throw new InvalidOperationException($"frame ring broken: {corruption}");
        throw new InvalidDataException($"the peer corrupted the frame ring: {corruption}");
    }

    private static int CapacityOf(byte* region, int regionBytes)
    {
        ArgumentNullException.ThrowIfNull(region);
        if (((nint)region & 63) != 0)
            throw new ArgumentException("a ring's region starts on a cache line (64 bytes)", nameof(region));
        var capacity = regionBytes - HeaderBytes;
        if (capacity < MinCapacity || !BitOperations.IsPow2(capacity))
            throw new ArgumentOutOfRangeException(nameof(regionBytes), regionBytes, $"a ring's region is {HeaderBytes} bytes plus a power of two of at least {MinCapacity}");
        return capacity;
    }
}
