using System.Runtime.InteropServices;
using Fos.Runtime.Processes;
using static Fos.Runtime.Tests.FrameRingTests;

namespace Fos.Runtime.Tests;

/// <summary>A peer that writes anything into the ring's memory: every broken rule is caught, nothing escapes the region.</summary>
public class FrameRingHostileTests
{
    private const int TailAt = 0;
    private const int HeadAt = 64;
    private const int MaxFrame = Capacity / 2 - 4;

    private static void SetTail(SharedMemory memory, long value) => MemoryMarshal.Write(memory.GetSpan(TailAt, 8), value);

    private static void SetHead(SharedMemory memory, long value) => MemoryMarshal.Write(memory.GetSpan(HeadAt, 8), value);

    private static long Tail(SharedMemory memory) => MemoryMarshal.Read<long>(memory.GetSpan(TailAt, 8));

    private static void SetLength(SharedMemory memory, long position, int value) =>
        MemoryMarshal.Write(memory.GetSpan(FrameRing.HeaderBytes + (position & (Capacity - 1)), 4), value);

    /// <summary>A consumer whose head (and the tail) stand at <paramref name="position"/>.</summary>
    private static FrameRing ConsumerAt(SharedMemory memory, long position)
    {
        SetTail(memory, position);
        SetHead(memory, position);
        return new FrameRing(memory, 0, Region, hostilePeer: true);
    }

    private static void AssertCorrupt(FrameRing ring)
    {
        var buffer = Array.Empty<byte>();
        Assert.Equal(FrameReadResult.Corrupt, ring.TryRead(ref buffer, out var length));
        Assert.Equal(0, length);
        Assert.True(ring.IsCorrupt);
        Assert.NotNull(ring.Corruption);
        Assert.False(ring.HasFrame);
        Assert.Equal(FrameReadResult.Corrupt, ring.TryRead(ref buffer, out _));
        Assert.Throws<InvalidDataException>(() => ring.TryWrite(new byte[8]));
    }

    [Fact]
    public void A_tail_behind_the_head_is_corrupt()
    {
        using var memory = NewRingMemory();
        var ring = new FrameRing(memory, 0, Region, hostilePeer: true);
        ring.TryWrite(new byte[16]);
        ring.TryWrite(new byte[16]);
        ReadFrame(ring);
        ReadFrame(ring);
        SetTail(memory, 40); // the head stands at 48
        AssertCorrupt(ring);
    }

    [Theory]
    [InlineData(Capacity + 8)]
    [InlineData(long.MaxValue - 7)]
    [InlineData(long.MinValue)]
    [InlineData(4)]
    public void A_tail_more_than_a_ring_ahead_or_off_a_record_boundary_is_corrupt(long tail)
    {
        using var memory = NewRingMemory();
        var ring = new FrameRing(memory, 0, Region, hostilePeer: true);
        SetTail(memory, tail);
        AssertCorrupt(ring);
    }

    [Theory]
    [InlineData(-2)]
    [InlineData(int.MinValue)]
    [InlineData(MaxFrame + 1)]
    [InlineData(int.MaxValue)]
    public void A_length_below_the_wrap_marker_or_above_the_largest_frame_is_corrupt(int length)
    {
        using var memory = NewRingMemory();
        var ring = new FrameRing(memory, 0, Region, hostilePeer: true);
        SetLength(memory, 0, length);
        SetTail(memory, Capacity);
        AssertCorrupt(ring);
    }

    [Fact]
    public void A_frame_running_past_the_tail_is_corrupt()
    {
        using var memory = NewRingMemory();
        var ring = new FrameRing(memory, 0, Region, hostilePeer: true);
        SetLength(memory, 0, 100);
        SetTail(memory, 8);
        AssertCorrupt(ring);
    }

    [Fact]
    public void A_frame_running_past_the_end_of_the_data_area_is_corrupt()
    {
        using var memory = NewRingMemory();
        var ring = ConsumerAt(memory, Capacity - 8);
        SetLength(memory, Capacity - 8, 100);
        SetTail(memory, Capacity - 8 + 104);
        AssertCorrupt(ring);
    }

    [Fact]
    public void A_wrap_marker_where_the_frame_would_have_fit_is_corrupt()
    {
        using var memory = NewRingMemory();
        var ring = ConsumerAt(memory, Capacity - 64);
        SetLength(memory, Capacity - 64, -1);
        SetLength(memory, 0, 8); // a 16-byte record: it fit in the 64 bytes skipped
        SetTail(memory, Capacity + 16);
        AssertCorrupt(ring);
    }

    [Fact]
    public void A_wrap_marker_with_no_frame_after_it_is_corrupt()
    {
        using var memory = NewRingMemory();
        var ring = ConsumerAt(memory, Capacity - 64);
        SetLength(memory, Capacity - 64, -1);
        SetTail(memory, Capacity);
        AssertCorrupt(ring);
    }

    [Fact]
    public void A_wrap_marker_at_the_start_of_the_data_area_is_corrupt()
    {
        using var memory = NewRingMemory();
        var ring = new FrameRing(memory, 0, Region, hostilePeer: true);
        SetLength(memory, 0, -1);
        SetLength(memory, 8, 8);
        SetTail(memory, Capacity);
        AssertCorrupt(ring);
    }

    [Fact]
    public void An_honest_wrap_reads_back()
    {
        using var memory = NewRingMemory();
        var ring = ConsumerAt(memory, Capacity - 64);
        SetLength(memory, Capacity - 64, -1);
        SetLength(memory, 0, 61); // a 72-byte record does not fit the 64 bytes left
        SetTail(memory, Capacity + 72);
        Assert.Equal(61, ReadFrame(ring).Length);
        Assert.False(ring.HasFrame);
    }

    [Fact]
    public void A_poisoned_ring_stays_poisoned_after_the_header_is_repaired()
    {
        using var memory = NewRingMemory();
        var ring = new FrameRing(memory, 0, Region, hostilePeer: true);
        SetTail(memory, 4);
        AssertCorrupt(ring);
        FrameRing.Initialize(memory, 0, Region);
        Assert.True(new FrameRing(memory, 0, Region, hostilePeer: true).TryWrite(new byte[8]));
        AssertCorrupt(ring);
    }

    [Fact]
    public void A_garbage_header_poisons_a_new_ring_at_once()
    {
        using var memory = NewRingMemory();
        SetTail(memory, 12345);
        AssertCorrupt(new FrameRing(memory, 0, Region, hostilePeer: true));
        Assert.Throws<InvalidOperationException>(() => new FrameRing(memory, 0, Region, hostilePeer: false));
    }

    /// <summary>A producer that has filled the ring, so its next write reads the head.</summary>
    private static FrameRing FullProducer(SharedMemory memory, bool hostilePeer = true)
    {
        var ring = new FrameRing(memory, 0, Region, hostilePeer);
        while (ring.TryWrite(new byte[100])) { }
        return ring;
    }

    [Theory]
    [InlineData(8)]                // ahead of the tail
    [InlineData(-Capacity - 8)]    // more than a ring behind it
    [InlineData(-Capacity + 4)]    // off a record boundary
    public void A_head_ahead_of_the_tail_or_more_than_a_ring_behind_stops_the_producer(long fromTail)
    {
        using var memory = NewRingMemory();
        var producer = FullProducer(memory);
        SetHead(memory, Tail(memory) + fromTail);
        var error = Assert.Throws<InvalidDataException>(() => producer.TryWrite(new byte[100]));
        Assert.Contains("head", error.Message);
        Assert.True(producer.IsCorrupt);
        Assert.Throws<InvalidDataException>(() => producer.TryWrite(new byte[8]));
    }

    [Fact]
    public void A_head_that_moves_back_stops_the_producer()
    {
        using var memory = NewRingMemory();
        var producer = FullProducer(memory);
        var consumer = new FrameRing(memory, 0, Region, hostilePeer: true);
        for (var i = 0; i < 5; i++) ReadFrame(consumer);
        Assert.True(producer.TryWrite(new byte[100])); // reads the head: 5 records
        SetHead(memory, 4 * 104);
        Assert.Throws<InvalidDataException>(() =>
        {
            for (var i = 0; i < 10; i++) Assert.True(producer.TryWrite(new byte[100]));
        });
    }

    [Fact]
    public void A_trusted_peer_that_breaks_the_rules_is_a_bug_and_throws()
    {
        using var memory = NewRingMemory();
        var consumer = new FrameRing(memory, 0, Region, hostilePeer: false);
        SetTail(memory, Capacity + 8);
        var buffer = Array.Empty<byte>();
        Assert.Throws<InvalidOperationException>(() => consumer.TryRead(ref buffer, out _));
        Assert.Throws<InvalidOperationException>(() => consumer.TryRead(ref buffer, out _));

        FrameRing.Initialize(memory, 0, Region);
        var producer = FullProducer(memory, hostilePeer: false);
        SetHead(memory, Tail(memory) + 8);
        Assert.Throws<InvalidOperationException>(() => producer.TryWrite(new byte[100]));
    }
}
