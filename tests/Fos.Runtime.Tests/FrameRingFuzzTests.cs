using System.Runtime.InteropServices;
using Fos.Runtime.Processes;
using static Fos.Runtime.Tests.FrameRingTests;

namespace Fos.Runtime.Tests;

/// <summary>
/// Random garbage written into a ring's header and data, between and during honest traffic. The
/// ring lies against guard pages, so a read or write outside it would fault the test process.
/// </summary>
public class FrameRingFuzzTests
{
    private const int MaxFrame = Capacity / 2 - 4;

    private sealed class GuardedRing : IDisposable
    {
        public GuardedRing(bool againstTheEnd)
        {
            var page = Environment.SystemPageSize;
            var pages = (Region + page - 1) / page + 2;
            Memory = SharedMemory.Create("fos-test-fuzz", (long)pages * page);
            Posix.Guard(Memory, 0, page);
            Posix.Guard(Memory, (long)(pages - 1) * page, page);
            Offset = againstTheEnd ? (long)(pages - 1) * page - Region : page;
        }

        public SharedMemory Memory { get; }

        public long Offset { get; }

        public Span<byte> Bytes => Memory.GetSpan(Offset, Region);

        public FrameRing Fresh(out FrameRing producer)
        {
            FrameRing.Initialize(Memory, Offset, Region);
            producer = new FrameRing(Memory, Offset, Region, hostilePeer: true);
            return new FrameRing(Memory, Offset, Region, hostilePeer: true);
        }

        public void Dispose() => Memory.Dispose();
    }

    private static readonly long[] Positions = [0, 4, 8, Capacity, Capacity + 8, -8, long.MaxValue, long.MinValue];
    private static readonly int[] Lengths = [-1, -2, 0, 1, 8, MaxFrame, MaxFrame + 1, Capacity, int.MinValue, int.MaxValue];

    /// <summary>One hostile write: an index, a length word (often the next one read), or raw bytes.</summary>
    private static void Scribble(Span<byte> ring, Random random)
    {
        var head = MemoryMarshal.Read<long>(ring[64..]);
        switch (random.Next(5))
        {
            case 0:
                MemoryMarshal.Write(ring, random.Next(2) == 0 ? Positions[random.Next(Positions.Length)] : head + 8 * random.Next(-4, Capacity / 8 + 4));
                break;
            case 1:
                MemoryMarshal.Write(ring[64..], head + 8 * random.Next(-4, 4));
                break;
            case 2:
                MemoryMarshal.Write(ring[(FrameRing.HeaderBytes + (int)(head & (Capacity - 8)))..], Lengths[random.Next(Lengths.Length)]);
                break;
            case 3:
                MemoryMarshal.Write(ring[(FrameRing.HeaderBytes + 8 * random.Next(Capacity / 8))..], random.Next(2) == 0 ? Lengths[random.Next(Lengths.Length)] : random.Next(-1, 600));
                break;
            default:
                var start = random.Next(ring.Length);
                random.NextBytes(ring.Slice(start, Math.Min(ring.Length - start, random.Next(1, 64))));
                break;
        }
    }

    private static void TryWrite(FrameRing producer, Random random)
    {
        try
        {
            producer.TryWrite(new byte[random.Next(8)], new byte[random.Next(300)]);
        }
        catch (InvalidDataException)
        {
            // the hostile head was caught: the documented outcome
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Garbage_between_reads_is_caught_and_never_escapes_the_region(bool againstTheEnd)
    {
        using var guarded = new GuardedRing(againstTheEnd);
        var random = new Random(againstTheEnd ? 1 : 2);
        var consumer = guarded.Fresh(out var producer);
        var buffer = Array.Empty<byte>();
        int frames = 0, corrupt = 0;
        for (var iteration = 0; iteration < 5_000; iteration++)
        {
            if (consumer.IsCorrupt || producer.IsCorrupt) consumer = guarded.Fresh(out producer);
            for (var i = random.Next(4); i > 0; i--) TryWrite(producer, random);
            for (var i = random.Next(3); i > 0; i--) Scribble(guarded.Bytes, random);
            for (var i = 0; i < 8; i++)
            {
                var result = consumer.TryRead(ref buffer, out var length);
                Assert.InRange(length, 0, MaxFrame);
                if (result == FrameReadResult.Frame) frames++;
                else
                {
                    if (result == FrameReadResult.Corrupt) corrupt++;
                    Assert.Equal(0, length);
                    break;
                }
            }
        }
        Assert.True(frames > 1_000, $"{frames} frames");
        Assert.True(corrupt > 500, $"{corrupt} corruptions");
    }

    [Fact]
    public void Garbage_written_while_the_ring_runs_is_caught_and_never_escapes_the_region()
    {
        using var guarded = new GuardedRing(againstTheEnd: true);
        var stop = 0;
        Exception? scribblerFailure = null;
        var scribbler = new Thread(() =>
        {
            try
            {
                var random = new Random(3);
                while (Volatile.Read(ref stop) == 0) Scribble(guarded.Bytes, random);
            }
            catch (Exception e)
            {
                scribblerFailure = e;
            }
        });
        scribbler.Start();
        try
        {
            var random = new Random(4);
            var consumer = guarded.Fresh(out var producer);
            var buffer = Array.Empty<byte>();
            for (var iteration = 0; iteration < 50_000; iteration++)
            {
                if (consumer.IsCorrupt || producer.IsCorrupt) consumer = guarded.Fresh(out producer);
                TryWrite(producer, random);
                var result = consumer.TryRead(ref buffer, out var length);
                Assert.InRange(length, 0, MaxFrame);
                Assert.True(result == FrameReadResult.Frame || length == 0);
            }
        }
        finally
        {
            Volatile.Write(ref stop, 1);
            Assert.True(scribbler.Join(10_000));
        }
        Assert.Null(scribblerFailure);
    }
}
