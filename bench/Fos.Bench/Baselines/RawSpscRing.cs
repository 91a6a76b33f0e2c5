using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Fos.Bench.Baselines;

/// <summary>
/// Baseline <c>raw-spsc-ring</c>: the floor for one-way messages between two cores. A bare
/// single-producer/single-consumer ring of 64-byte, line-aligned slots between two pinned
/// threads; each side keeps its index private and publishes it every <c>publishEvery</c> messages
/// (1: unbatched, 64: batched), and rereads the other's only when it seems to have run out.
/// </summary>
internal static class RawSpscRing
{
    public const string Id = "raw-spsc-ring";
    public const int Capacity = 1024; // as a machine's default ring
    private const long Mask = Capacity - 1;

    /// <summary>Time for <paramref name="count"/> messages to go from producer to consumer.</summary>
    public static async Task<TimeSpan> Measure(long count, int publishEvery)
    {
        if (publishEvery < 1 || (publishEvery & (publishEvery - 1)) != 0 || Capacity % publishEvery != 0)
            throw new ArgumentOutOfRangeException(nameof(publishEvery), publishEvery, "publish interval must be a power of two dividing the ring");
        using var ring = new Ring(publishEvery);
        long start = 0, end = 0, sum = 0;
        await PinnedThreads.Run(
            () => start = ring.Produce(count),
            () => (end, sum) = ring.Consume(count));
        // Every message arrived once and whole: the sum of 0..count-1.
        if (sum != count * (count - 1) / 2) throw new InvalidOperationException($"raw ring lost or tore messages: checksum {sum}");
        return Stopwatch.GetElapsedTime(start, end);
    }

    private sealed unsafe class Ring(int publishEvery) : IDisposable
    {
        private readonly Slot* slots = (Slot*)NativeMemory.AlignedAlloc(Capacity * (nuint)sizeof(Slot), 64);
        private readonly long every = publishEvery - 1L;
        private readonly Indices indices = new();

        /// <summary>Producer thread: returns the timestamp it started at.</summary>
        public long Produce(long count)
        {
            // Locals, so the loop keeps them in registers.
            var slots = this.slots;
            var every = this.every;
            var indices = this.indices;
            long tail = 0, head = 0;
            var start = Stopwatch.GetTimestamp();
            while (tail < count)
            {
                if (tail - head == Capacity)
                    while ((head = Volatile.Read(ref indices.Head)) + Capacity == tail) PinnedThreads.Spin();
                slots[tail & Mask] = new Slot(tail);
                tail++;
                if ((tail & every) == 0 || tail == count) Volatile.Write(ref indices.Tail, tail);
            }
            return start;
        }

        /// <summary>Consumer thread: returns the timestamp it finished at and the checksum (-1 if a slot was torn).</summary>
        public (long End, long Sum) Consume(long count)
        {
            var slots = this.slots;
            var every = this.every;
            var indices = this.indices;
            long head = 0, tail = 0, total = 0, torn = 0;
            while (head < count)
            {
                if (head == tail)
                    while ((tail = Volatile.Read(ref indices.Tail)) == head) PinnedThreads.Spin();
                ref var slot = ref slots[head & Mask];
                total += slot.Value;
                torn |= slot.Value ^ slot.Check;
                head++;
                if ((head & every) == 0 || head == count) Volatile.Write(ref indices.Head, head);
            }
            return (Stopwatch.GetTimestamp(), torn == 0 ? total : -1);
        }

        public void Dispose() => NativeMemory.AlignedFree(slots);
    }

    /// <summary>One message: a whole cache line, as a fos envelope with its sequence word is.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 64)]
    private struct Slot(long value)
    {
        public long Value = value, W1 = value, W2 = value, W3 = value, W4 = value, W5 = value, W6 = value, Check = value;
    }

    [StructLayout(LayoutKind.Explicit, Size = 384)]
    private sealed class Indices
    {
        [FieldOffset(128)] public long Tail; // written by the producer only
        [FieldOffset(256)] public long Head; // written by the consumer only
    }
}
