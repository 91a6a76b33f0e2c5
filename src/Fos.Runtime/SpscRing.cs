using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Fos.Kernel;

namespace Fos.Runtime;

/// <summary>
/// A single-producer/single-consumer ring of cache-line slots carrying envelopes from one core to
/// another (Barrelfish's URPC). Each slot is one 64-byte line holding an envelope and a sequence
/// word that says it is full, so a message costs that one line moving between the two cores: the
/// producer writes it, the consumer reads it and does not write it back. The consumer tells the
/// producer which slots it may reuse through a position of its own, published once per batch of
/// reads and whenever it finds the ring empty. Bounded: a full ring refuses the write and the
/// sender backs off.
/// </summary>
public sealed class SpscRing
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Slot
    {
        public Envelope Item;
        public long Sequence; // position + 1 once the message at that position is in the slot
    }

    private readonly Slot[] slots;
    private readonly long mask;
    private readonly int freeBatch;
    private Padded producer; // Value: next position to write; Other: positions below it are free
    private Padded consumer; // Value: next position to read; Other: positions below it hold no body
    private Padded freed;    // Value: published by the consumer; read by the producer when it runs out

    public SpscRing(int capacity)
    {
        if (capacity < 2 || (capacity & (capacity - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "ring capacity must be a power of two of at least 2");
        slots = LineAlignedSlots(capacity);
        mask = capacity - 1;
        freeBatch = Math.Min(MaxFreeBatch, capacity / 2);
        // No slot says full at the start: a slot is full for position p when its sequence is p + 1.
        for (var i = 0; i < capacity; i++) slots[i].Sequence = i - capacity + 1;
        producer.Other = capacity;
    }

    public int Capacity => slots.Length;

    /// <summary>Whether every slot starts on a cache line (it does unless the allocator never obliged).</summary>
    internal bool IsLineAligned => StartsLine(slots);

    /// <summary>How many slots a busy consumer reads before it hands them back: a batch, or half a small ring.</summary>
    internal int FreeBatch => freeBatch;

    /// <summary>Producer side: false when the ring is full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryWrite(in Envelope item)
    {
        var position = producer.Value;
        if (position == producer.Other && !Reserve(position)) return false;
        ref var slot = ref slots[position & mask];
        slot.Item = item;
        Volatile.Write(ref slot.Sequence, position + 1);
        producer.Value = position + 1;
        return true;
    }

    // Reading the consumer's published position costs a line crossing, so the producer does it only
    // when the slots it knew to be free have run out.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool Reserve(long position)
    {
        producer.Other = Volatile.Read(ref freed.Value) + slots.Length;
        return position < producer.Other;
    }

    /// <summary>Consumer side: false when the ring is empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryRead(out Envelope item)
    {
        var position = consumer.Value;
        ref var slot = ref slots[position & mask];
        if (Volatile.Read(ref slot.Sequence) != position + 1)
        {
            // Empty: a good moment to let go of what was read, off the path of any message.
            if (consumer.Other != position) Free(position);
            item = default;
            return false;
        }
        item = slot.Item;
        consumer.Value = position + 1;
        if (position + 1 - consumer.Other >= freeBatch) Free(position + 1);
        return true;
    }

    /// <summary>
    /// Drops the bodies of the slots read up to <paramref name="position"/>, so a big reply is not
    /// held until its slot comes round again, and only then hands the slots back to the producer,
    /// which may overwrite them from that moment.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Free(long position)
    {
        for (var p = consumer.Other; p < position; p++) slots[p & mask].Item = default;
        consumer.Other = position;
        Volatile.Write(ref freed.Value, position);
    }

    /// <summary>Consumer side: whether a message is waiting.</summary>
    public bool HasItem
    {
        get
        {
            var position = consumer.Value;
            return Volatile.Read(ref slots[position & mask].Sequence) == position + 1;
        }
    }

    private const int CacheLine = 64;

    /// <summary>The most slots a busy consumer reads before it frees them (it frees all at once when the ring is empty).</summary>
    internal const int MaxFreeBatch = 32;

    // A slot is exactly one line only if the array's first element starts a line. The runtime does
    // not align arrays, so pinned ones are asked for until one lands on a line: each try shifts by
    // the array's size modulo 64, and eight tries cover every 8-byte offset. A ring lives as long
    // as its machine, so the misses are garbage once, at start.
    private static Slot[] LineAlignedSlots(int capacity)
    {
        var missed = new List<Slot[]>();
        for (var attempt = 0; attempt < 16; attempt++)
        {
            var slots = GC.AllocateArray<Slot>(capacity, pinned: true);
            if (StartsLine(slots)) return slots;
            missed.Add(slots); // kept until a try lands, so the allocator cannot hand the same place back
        }
        return missed[0]; // still correct, a message then touches two lines
    }

    private static unsafe bool StartsLine(Slot[] slots) => (long)Unsafe.AsPointer(ref slots[0]) % CacheLine == 0;

    /// <summary>A position alone on its cache line, so producer and consumer do not false-share.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct Padded
    {
        [FieldOffset(64)] public long Value;
        [FieldOffset(72)] public long Other;
    }
}
