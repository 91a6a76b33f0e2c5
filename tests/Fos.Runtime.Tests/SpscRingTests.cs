using Fos.Kernel;
using Fos.Runtime;

namespace Fos.Runtime.Tests;

public class SpscRingTests
{
    private static readonly Address To = new(1, 1, 0);
    private static readonly Address From = new(1, 0, 0);

    private static Envelope Message(long n) => new(EnvelopeKind.Send, To, default, From, (ulong)n, n);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(1000)]
    public void A_capacity_that_is_not_a_power_of_two_of_at_least_two_is_refused(int capacity)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new SpscRing(capacity));
        Assert.Contains("power of two", error.Message);
    }

    [Fact]
    public void An_empty_ring_has_nothing_to_read()
    {
        var ring = new SpscRing(4);
        Assert.False(ring.HasItem);
        Assert.False(ring.TryRead(out var item));
        Assert.Null(item.Body);
    }

    [Fact]
    public void Messages_come_out_in_the_order_they_went_in_across_many_wraps()
    {
        var ring = new SpscRing(8);
        var next = 0L;
        var expected = 0L;
        for (var round = 0; round < 100; round++)
        {
            var burst = round % 9; // 0..8: sometimes empty, sometimes exactly full
            for (var i = 0; i < burst; i++) Assert.True(ring.TryWrite(Message(next++)));
            for (var i = 0; i < burst; i++)
            {
                Assert.True(ring.TryRead(out var item));
                Assert.Equal(expected++, item.Body);
            }
            Assert.False(ring.HasItem);
            Assert.False(ring.TryRead(out _)); // the reader finds it empty, and hands every slot back
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(8)]
    [InlineData(64)]
    [InlineData(256)]
    public void Any_interleaving_of_writes_and_reads_behaves_as_a_bounded_queue(int capacity)
    {
        // Whatever the interleaving, reads give back what went in, in order, and a write succeeds
        // exactly when the producer has a slot the consumer handed back: the consumer hands slots
        // back a batch at a time, and all it has read when it finds the ring empty.
        var random = new Random(capacity);
        var ring = new SpscRing(capacity);
        var model = new Queue<long>();
        long next = 0, read = 0, handedBack = 0;
        for (var step = 0; step < 50_000; step++)
        {
            var writeBias = step / 5_000 % 2 == 0 ? 3 : 1; // phases that fill the ring and phases that drain it
            if (random.Next(writeBias + 1) != 0)
            {
                var written = ring.TryWrite(Message(next));
                Assert.Equal(next - handedBack < capacity, written);
                if (written) model.Enqueue(next++);
            }
            else if (ring.TryRead(out var item))
            {
                Assert.Equal(model.Dequeue(), item.Body);
                if (++read - handedBack >= ring.FreeBatch) handedBack = read;
            }
            else
            {
                Assert.Empty(model);
                handedBack = read;
            }
            Assert.True(model.Count <= capacity);
        }
    }

    [Fact]
    public void A_full_ring_refuses_a_write_and_takes_writes_again_once_the_reader_hands_slots_back()
    {
        var ring = new SpscRing(4); // hands back every two reads
        for (var i = 0; i < 4; i++) Assert.True(ring.TryWrite(Message(i)));
        Assert.False(ring.TryWrite(Message(99)));
        Assert.True(ring.TryRead(out var first));
        Assert.Equal(0L, first.Body);
        Assert.False(ring.TryWrite(Message(99))); // read, not yet handed back
        Assert.True(ring.TryRead(out var second));
        Assert.Equal(1L, second.Body);
        Assert.True(ring.TryWrite(Message(4)));
        Assert.True(ring.TryWrite(Message(5)));
        Assert.False(ring.TryWrite(Message(99)));
        var rest = new List<object?>();
        while (ring.TryRead(out var item)) rest.Add(item.Body);
        Assert.Equal([2L, 3L, 4L, 5L], rest);
        for (var i = 6; i < 10; i++) Assert.True(ring.TryWrite(Message(i))); // found empty: all handed back
    }

    [Theory]
    [InlineData(2)]
    [InlineData(64)]
    [InlineData(1024)]
    public void Every_slot_is_one_cache_line_wherever_the_array_lands(int capacity)
    {
        // A slot straddling two lines makes every message move two: the layout is the point. The
        // runtime puts arrays at any 8-byte offset (and after a collection, into holes), so rings
        // are made between collections and among garbage of their own size.
        Assert.Equal(8, System.Runtime.CompilerServices.Unsafe.SizeOf<Address>()); // one word of the slot each
        var keep = new List<SpscRing>();
        for (var i = 0; i < 64; i++)
        {
            var ring = new SpscRing(capacity);
            Assert.True(ring.IsLineAligned);
            if (i % 3 == 0) keep.Add(ring);
            if (i % 16 == 0) GC.Collect();
        }
        GC.KeepAlive(keep); // survivors among the garbage, so later rings land between both
    }

    [Fact]
    public void A_reader_that_finds_the_ring_empty_lets_go_of_every_body_it_read()
    {
        var ring = new SpscRing(1024);
        var weak = Write(ring, 3);
        for (var i = 0; i < 3; i++) Assert.True(Read(ring));
        Assert.False(Read(ring)); // empty: what was read is dropped now
        Collect();
        Assert.All(weak, w => Assert.False(w.IsAlive));
    }

    [Fact]
    public void A_reader_that_never_finds_the_ring_empty_holds_at_most_one_batch_of_bodies()
    {
        var ring = new SpscRing(1024);
        var weak = Write(ring, 200);
        for (var i = 0; i < 199; i++) Assert.True(Read(ring));
        Collect();
        var held = weak.Take(199).Count(w => w.IsAlive);
        Assert.InRange(held, 0, ring.FreeBatch - 1);
        Assert.True(weak[199].IsAlive); // still in the ring, not read
    }

    // Separate frames, so no local of the test itself keeps a body alive in a debug build.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference[] Write(SpscRing ring, int count)
    {
        var weak = new WeakReference[count];
        for (var i = 0; i < count; i++)
        {
            var body = new object();
            Assert.True(ring.TryWrite(new Envelope(EnvelopeKind.Send, To, default, From, (ulong)i, body)));
            weak[i] = new WeakReference(body);
        }
        return weak;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static bool Read(SpscRing ring) => ring.TryRead(out _);

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [Theory]
    [InlineData(2)]  // hands back after every read: the producer is always at its limit
    [InlineData(4)]
    [InlineData(64)]
    public async Task Two_threads_pass_a_million_messages_without_loss_duplication_or_reordering(int capacity)
    {
        // The consumer drops bodies in slots it has read and only then hands them back; were it to
        // hand back first, the producer's next message could be wiped out by that drop.
        const long count = 1_000_000;
        var ring = new SpscRing(capacity);
        var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var producer = Task.Factory.StartNew(() =>
        {
            for (long i = 0; i < count; i++)
                while (!ring.TryWrite(Message(i)))
                {
                    cancel.Token.ThrowIfCancellationRequested();
                    Thread.SpinWait(4);
                }
        }, TaskCreationOptions.LongRunning);
        var consumer = Task.Factory.StartNew(() =>
        {
            long expected = 0, outOfOrder = 0;
            while (expected < count)
            {
                if (ring.TryRead(out var item))
                {
                    if ((long)item.Body! != expected) outOfOrder++;
                    if (item.CorrelationId != (ulong)expected) outOfOrder++;
                    expected++;
                }
                else
                {
                    cancel.Token.ThrowIfCancellationRequested();
                    Thread.SpinWait(4);
                }
            }
            return outOfOrder;
        }, TaskCreationOptions.LongRunning);
        // Either side's failure ends the test with its own error, not the other's wait running out.
        await Task.WhenAny(producer, consumer);
        if (consumer.IsFaulted || producer.IsFaulted) cancel.Cancel();
        await Task.WhenAll(producer, consumer);
        Assert.Equal(0, await consumer);
        Assert.False(ring.HasItem);
    }
}
