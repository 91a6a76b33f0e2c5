using Fos.Runtime.Processes;

namespace Fos.Runtime.Tests;

public class FrameRingTests
{
    internal const int Capacity = 4096;
    internal static readonly int Region = FrameRing.RegionBytes(Capacity);

    /// <summary>A fresh ring at the start of its own shared memory.</summary>
    internal static SharedMemory NewRingMemory(int capacity = Capacity)
    {
        var memory = SharedMemory.Create("fos-test-ring", FrameRing.RegionBytes(capacity));
        FrameRing.Initialize(memory, 0, FrameRing.RegionBytes(capacity));
        return memory;
    }

    /// <summary>Frame <paramref name="n"/>'s bytes: its length and contents both follow from n.</summary>
    internal static byte[] FrameBytes(long n, int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++) bytes[i] = (byte)(n * 31 + i * 7);
        return bytes;
    }

    internal static byte[] ReadFrame(FrameRing ring)
    {
        var buffer = Array.Empty<byte>();
        Assert.Equal(FrameReadResult.Frame, ring.TryRead(ref buffer, out var length));
        return buffer[..length];
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2048)]
    [InlineData(4095)]
    [InlineData(6000)]
    public void A_capacity_that_is_not_a_power_of_two_of_at_least_4_KiB_is_refused(int capacity) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameRing.RegionBytes(capacity));

    [Fact]
    public void A_region_of_the_wrong_size_or_off_a_cache_line_is_refused()
    {
        using var memory = SharedMemory.Create("fos-test-ring", 3 * Region);
        Assert.Throws<ArgumentOutOfRangeException>(() => new FrameRing(memory, 0, Region + 8, hostilePeer: true));
        Assert.Throws<ArgumentException>(() => new FrameRing(memory, 8, Region, hostilePeer: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FrameRing(memory, 3 * Region - 64, Region, hostilePeer: true));
    }

    [Fact]
    public void An_empty_ring_has_nothing_to_read()
    {
        using var memory = NewRingMemory();
        var ring = new FrameRing(memory, 0, Region, hostilePeer: true);
        var buffer = Array.Empty<byte>();
        Assert.False(ring.HasFrame);
        Assert.Equal(FrameReadResult.Empty, ring.TryRead(ref buffer, out var length));
        Assert.Equal(0, length);
    }

    [Fact]
    public void A_frame_is_its_header_then_its_body()
    {
        using var memory = NewRingMemory();
        var ring = new FrameRing(memory, 0, Region, hostilePeer: true);
        Assert.True(ring.TryWrite("head|"u8, "body"u8));
        Assert.True(ring.TryWrite(default, default));
        Assert.True(ring.HasFrame);
        Assert.Equal("head|body"u8.ToArray(), ReadFrame(ring));
        Assert.Empty(ReadFrame(ring));
        Assert.False(ring.HasFrame);
    }

    [Fact]
    public void Frames_of_random_sizes_come_out_in_order_and_exact_across_many_wraps()
    {
        using var memory = NewRingMemory();
        var ring = new FrameRing(memory, 0, Region, hostilePeer: true);
        var random = new Random(7);
        var waiting = new Queue<byte[]>();
        var buffer = Array.Empty<byte>();
        long written = 0, read = 0, bytes = 0;
        for (var step = 0; step < 20_000; step++)
        {
            if (random.Next(2) == 0)
            {
                // Mostly small frames, sometimes up to the largest.
                var length = random.Next(10) == 0 ? random.Next(ring.MaxFrame + 1) : random.Next(200);
                var frame = FrameBytes(written, length);
                var split = random.Next(length + 1);
                if (!ring.TryWrite(frame.AsSpan(0, split), frame.AsSpan(split))) continue;
                waiting.Enqueue(frame);
                written++;
                bytes += length;
            }
            else
            {
                var result = ring.TryRead(ref buffer, out var length);
                if (waiting.Count == 0)
                {
                    Assert.Equal(FrameReadResult.Empty, result);
                    continue;
                }
                Assert.Equal(FrameReadResult.Frame, result);
                Assert.Equal(waiting.Dequeue(), buffer[..length]);
                read++;
            }
        }
        Assert.True(bytes > 50 * Capacity, "the test should wrap the ring many times");
        Assert.True(read > 5_000);
    }

    [Fact]
    public void A_full_ring_refuses_a_frame_and_takes_it_after_a_read()
    {
        using var memory = NewRingMemory();
        var ring = new FrameRing(memory, 0, Region, hostilePeer: true);
        var frame = new byte[100]; // a 104-byte record
        var count = 0;
        while (ring.TryWrite(frame)) count++;
        Assert.Equal(Capacity / 104, count);
        Assert.False(ring.TryWrite(frame));
        ReadFrame(ring);
        Assert.True(ring.TryWrite(frame));
        Assert.False(ring.TryWrite(frame));
    }

    [Fact]
    public void An_empty_ring_takes_the_largest_frame_wherever_its_tail_stands()
    {
        using var memory = NewRingMemory();
        var ring = new FrameRing(memory, 0, Region, hostilePeer: true);
        Assert.Equal(Capacity / 2 - 4, ring.MaxFrame);
        for (var n = 0; n < Capacity / 8; n++)
        {
            Assert.True(ring.TryWrite(default, default)); // moves the tail on by one 8-byte record
            ReadFrame(ring);
            var largest = FrameBytes(n, ring.MaxFrame);
            Assert.True(ring.TryWrite(largest), $"refused at record {n}");
            Assert.Equal(largest, ReadFrame(ring));
        }
    }

    [Fact]
    public void A_frame_larger_than_the_largest_is_refused()
    {
        using var memory = NewRingMemory();
        var ring = new FrameRing(memory, 0, Region, hostilePeer: true);
        Assert.Throws<ArgumentException>(() => ring.TryWrite(new byte[ring.MaxFrame + 1]));
        Assert.Throws<ArgumentException>(() => ring.TryWrite(new byte[ring.MaxFrame], new byte[1]));
        Assert.False(ring.HasFrame);
    }

    [Fact]
    public void The_read_buffer_grows_when_too_small_and_is_kept_otherwise()
    {
        using var memory = NewRingMemory();
        var ring = new FrameRing(memory, 0, Region, hostilePeer: true);
        ring.TryWrite(new byte[1000]);
        ring.TryWrite(new byte[10]);
        var buffer = new byte[16];
        Assert.Equal(FrameReadResult.Frame, ring.TryRead(ref buffer, out var length));
        Assert.Equal(1000, length);
        Assert.Equal(1024, buffer.Length);
        var grown = buffer;
        Assert.Equal(FrameReadResult.Frame, ring.TryRead(ref buffer, out length));
        Assert.Equal(10, length);
        Assert.Same(grown, buffer);
    }

    [Fact]
    public void A_producer_and_a_consumer_on_two_mappings_of_one_memfd_move_100000_frames()
    {
        const int Frames = 100_000;
        const int ringCapacity = 64 * 1024;
        var region = FrameRing.RegionBytes(ringCapacity);
        using var producerSide = NewRingMemory(ringCapacity);
        using var consumerSide = SharedMemory.Map(Posix.Dup(producerSide.Fd), region);
        var producer = new FrameRing(producerSide, 0, region, hostilePeer: true);
        var consumer = new FrameRing(consumerSide, 0, region, hostilePeer: true);
        var deadline = Environment.TickCount64 + 30_000;

        long sent = 0;
        Exception? producerFailure = null;
        var thread = new Thread(() =>
        {
            try
            {
                var random = new Random(11);
                var spin = new SpinWait();
                for (var n = 0; n < Frames; n++)
                {
                    var frame = FrameBytes(n, random.Next(600));
                    while (!producer.TryWrite(frame.AsSpan(0, frame.Length / 3), frame.AsSpan(frame.Length / 3)))
                    {
                        if (Environment.TickCount64 > deadline) throw new TimeoutException("the consumer stopped reading");
                        spin.SpinOnce(sleep1Threshold: -1);
                    }
                    foreach (var b in frame) sent += b;
                }
            }
            catch (Exception e)
            {
                producerFailure = e;
            }
        });
        thread.Start();

        var expectedLengths = new Random(11);
        var buffer = Array.Empty<byte>();
        long received = 0;
        var wait = new SpinWait();
        for (var n = 0; n < Frames; n++)
        {
            FrameReadResult result;
            int length;
            while ((result = consumer.TryRead(ref buffer, out length)) == FrameReadResult.Empty)
            {
                Assert.True(Environment.TickCount64 < deadline, $"frame {n} never came ({producerFailure})");
                wait.SpinOnce(sleep1Threshold: -1);
            }
            Assert.Equal(FrameReadResult.Frame, result);
            var expected = FrameBytes(n, expectedLengths.Next(600));
            Assert.True(expected.AsSpan().SequenceEqual(buffer.AsSpan(0, length)), $"frame {n} differs");
            for (var i = 0; i < length; i++) received += buffer[i];
        }
        Assert.True(thread.Join(10_000));
        Assert.Null(producerFailure);
        Assert.Equal(sent, received);
        Assert.False(consumer.HasFrame);
    }
}
