using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Fos.Kernel;

namespace Fos.Runtime;

/// <summary>
/// A single-producer/single-consumer ring of cache-line slots carrying envelopes from one core to
/// another (Barrelfish's URPC). Each slot holds an envelope and a sequence word that says whose
/// turn it is, so producer and consumer never touch the same index and a message costs one cache
/// line moving between the two cores. Bounded: a full ring refuses the write and the sender backs off.
/// </summary>
public sealed class SpscRing
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Slot
    {
        public Envelope Item;
        public long Sequence; // == position: free for the producer; == position + 1: full for the consumer
    }

    private readonly Slot[] slots;
    private readonly long mask;
    private Padded producer;
    private Padded consumer;

    public SpscRing(int capacity)
    {
        if (capacity < 2 || (capacity & (capacity - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "ring capacity must be a power of two of at least 2");
        slots = new Slot[capacity];
        mask = capacity - 1;
        for (var i = 0; i < capacity; i++) slots[i].Sequence = i;
    }

    public int Capacity => slots.Length;

    /// <summary>Producer side: false when the ring is full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryWrite(in Envelope item)
    {
        var position = producer.Value;
        if (position == producer.Limit && !Reserve(position)) return false;
        ref var slot = ref slots[position & mask];
        slot.Item = item;
        Volatile.Write(ref slot.Sequence, position + 1);
        producer.Value = position + 1;
        return true;
    }

    // The producer learns that a run of slots is free by reading the last one's sequence: the
    // consumer frees slots in order. Reading each slot's before writing it would wait, message by
    // message, for the line the consumer last wrote to come back across (B-Queue's batching).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool Reserve(long position)
    {
        var batch = Math.Min(ReserveBatch, slots.Length);
        var last = position + batch - 1;
        if (Volatile.Read(ref slots[last & mask].Sequence) == last)
        {
            producer.Limit = position + batch;
            return true;
        }
        if (Volatile.Read(ref slots[position & mask].Sequence) != position) return false;
        producer.Limit = position + 1;
        return true;
    }

    private const int ReserveBatch = 32;

    /// <summary>Consumer side: false when the ring is empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryRead(out Envelope item)
    {
        var position = consumer.Value;
        ref var slot = ref slots[position & mask];
        if (Volatile.Read(ref slot.Sequence) != position + 1)
        {
            item = default;
            return false;
        }
        item = slot.Item;
        slot.Item = default; // let the body be collected
        Volatile.Write(ref slot.Sequence, position + slots.Length);
        consumer.Value = position + 1;
        return true;
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

    /// <summary>An index alone on its cache line, so producer and consumer do not false-share.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct Padded
    {
        [FieldOffset(64)] public long Value;
        [FieldOffset(72)] public long Limit; // the producer's: positions below it are known free
    }
}
