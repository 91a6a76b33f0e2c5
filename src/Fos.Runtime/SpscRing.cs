using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Fos.Kernel;

namespace Fos.Runtime;

/// <summary>
/// A single-producer/single-consumer ring of cache-line slots carrying envelopes from one core to
/// another (Barrelfish's URPC). Each slot is one 64-byte line holding an envelope and a sequence
/// word that says it is full, so a message costs that one line moving between the two cores: the
/// producer writes it and the consumer reads it. The consumer tells the producer which slots it
/// may reuse through a position of its own, published once per batch of reads and whenever it
/// finds the ring empty, after dropping the bodies of the messages it read (so that a big reply is
/// not held until its slot comes round again). Bounded: a full ring refuses the write and the
/// sender backs off.
/// </summary>
public sealed class SpscRing
{
    // The runtime places an array where it likes, 8 bytes off a cache line in seven cases of
    // eight, and a struct's reference must sit where its type says. So each slot lives in a cell
    // of two lines with a reference at the start of each: whatever the array's offset, one 64-byte
    // window of every cell starts on a line and holds exactly one of the two references (for the
    // body) and seven plain words (the envelope's header and the sequence). The ring works out
    // once which window and which words, from where the pinned array landed.
    [StructLayout(LayoutKind.Explicit, Size = 2 * CacheLine)]
    private struct Cell
    {
        [FieldOffset(0)] public object? First;
        [FieldOffset(CacheLine)] public object? Second;
    }

    private readonly Cell[] cells;
    private readonly long mask;
    private readonly int freeBatch;
    private readonly int window;                                        // where a cell's line-aligned slot starts, in bytes
    private readonly int body;                                          // the window's reference, a byte offset in its cell
    private readonly int to, from, capabilityHigh, capabilityLow, correlation, kind, sequence; // its plain words
    private Padded producer; // Value: next position to write; Other: positions below it are free
    private Padded consumer; // Value: next position to read; Other: positions below it hold no body
    private Padded freed;    // Value: published by the consumer; read by the producer when it runs out

    public SpscRing(int capacity)
    {
        if (capacity < 2 || (capacity & (capacity - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "ring capacity must be a power of two of at least 2");
        cells = GC.AllocateArray<Cell>(capacity, pinned: true); // pinned: the window must not move
        mask = capacity - 1;
        freeBatch = Math.Min(MaxFreeBatch, capacity / 2);
        window = (int)((CacheLine - AddressOf(ref cells[0]) % CacheLine) % CacheLine);
        body = window == 0 ? 0 : CacheLine;
        Span<int> words = stackalloc int[7];
        for (int offset = window, n = 0; offset < window + CacheLine; offset += sizeof(long))
            if (offset != body) words[n++] = offset;
        (to, from, capabilityHigh, capabilityLow, correlation, kind, sequence) = (words[0], words[1], words[2], words[3], words[4], words[5], words[6]);
        // No slot says full at the start: a slot is full for position p when its sequence is p + 1.
        for (var i = 0; i < capacity; i++) Word<long>(ref cells[i], sequence) = i - capacity + 1;
        producer.Other = capacity;
    }

    public int Capacity => cells.Length;

    /// <summary>Whether each slot's window starts a cache line (it always should).</summary>
    internal bool IsLineAligned => AddressOf(ref Word<byte>(ref cells[0], window)) % CacheLine == 0;

    /// <summary>How many slots a busy consumer reads before it hands them back: a batch, or half a small ring.</summary>
    internal int FreeBatch => freeBatch;

    /// <summary>Producer side: false when the ring is full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryWrite(in Envelope item)
    {
        var position = producer.Value;
        if (position == producer.Other && !Reserve(position)) return false;
        ref var cell = ref cells[position & mask];
        Word<Address>(ref cell, to) = item.To;
        Word<Address>(ref cell, from) = item.From;
        Word<ulong>(ref cell, capabilityHigh) = item.Capability.High;
        Word<ulong>(ref cell, capabilityLow) = item.Capability.Low;
        Word<ulong>(ref cell, correlation) = item.CorrelationId;
        Word<long>(ref cell, kind) = (long)item.Kind;
        Word<object?>(ref cell, body) = item.Body;
        Volatile.Write(ref Word<long>(ref cell, sequence), position + 1);
        producer.Value = position + 1;
        return true;
    }

    // Reading the consumer's published position costs a line crossing, so the producer does it only
    // when the slots it knew to be free have run out.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool Reserve(long position)
    {
        producer.Other = Volatile.Read(ref freed.Value) + cells.Length;
        return position < producer.Other;
    }

    /// <summary>Consumer side: false when the ring is empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryRead(out Envelope item)
    {
        var position = consumer.Value;
        ref var cell = ref cells[position & mask];
        if (Volatile.Read(ref Word<long>(ref cell, sequence)) != position + 1)
        {
            // Empty: a good moment to let go of what was read, off the path of any message.
            if (consumer.Other != position) Free(position);
            item = default;
            return false;
        }
        item = new Envelope((EnvelopeKind)Word<long>(ref cell, kind), Word<Address>(ref cell, to),
            new Capability(Word<ulong>(ref cell, capabilityHigh), Word<ulong>(ref cell, capabilityLow)),
            Word<Address>(ref cell, from), Word<ulong>(ref cell, correlation), Word<object?>(ref cell, body));
        consumer.Value = position + 1;
        if (position + 1 - consumer.Other >= freeBatch) Free(position + 1);
        return true;
    }

    /// <summary>
    /// Drops the bodies of the slots read up to <paramref name="position"/>, and only then hands the
    /// slots back to the producer, which may overwrite them from that moment.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Free(long position)
    {
        for (var p = consumer.Other; p < position; p++) Word<object?>(ref cells[p & mask], body) = null;
        consumer.Other = position;
        Volatile.Write(ref freed.Value, position);
    }

    /// <summary>Consumer side: whether a message is waiting.</summary>
    public bool HasItem
    {
        get
        {
            var position = consumer.Value;
            return Volatile.Read(ref Word<long>(ref cells[position & mask], sequence)) == position + 1;
        }
    }

    private const int CacheLine = 64;

    /// <summary>The most slots a busy consumer reads before it frees them (it frees all at once when the ring is empty).</summary>
    internal const int MaxFreeBatch = 32;

    /// <summary>The word at <paramref name="offset"/> bytes into a cell, as a <typeparamref name="T"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref T Word<T>(ref Cell cell, int offset) => ref Unsafe.As<byte, T>(ref Unsafe.Add(ref Unsafe.As<Cell, byte>(ref cell), offset));

    private static unsafe long AddressOf<T>(ref T place) => (long)Unsafe.AsPointer(ref place);

    /// <summary>A position alone on its cache line, so producer and consumer do not false-share.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct Padded
    {
        [FieldOffset(64)] public long Value;
        [FieldOffset(72)] public long Other;
    }
}
