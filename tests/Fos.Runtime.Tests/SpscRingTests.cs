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
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(8)]
    [InlineData(64)]
    [InlineData(256)]
    public void Any_interleaving_of_writes_and_reads_behaves_as_a_bounded_queue(int capacity)
    {
        // The producer reserves runs of slots ahead; whatever the interleaving, a write succeeds
        // exactly when the queue has room and reads give back what went in, in order.
        var random = new Random(capacity);
        var ring = new SpscRing(capacity);
        var model = new Queue<long>();
        var next = 0L;
        for (var step = 0; step < 50_000; step++)
        {
            var writeBias = step / 5_000 % 2 == 0 ? 3 : 1; // phases that fill the ring and phases that drain it
            if (random.Next(writeBias + 1) != 0)
            {
                var written = ring.TryWrite(Message(next));
                Assert.Equal(model.Count < capacity, written);
                if (written) model.Enqueue(next++);
            }
            else
            {
                var read = ring.TryRead(out var item);
                Assert.Equal(model.Count > 0, read);
                if (read) Assert.Equal(model.Dequeue(), item.Body);
            }
        }
    }

    [Fact]
    public void A_full_ring_refuses_a_write_and_takes_one_again_after_a_read()
    {
        var ring = new SpscRing(4);
        for (var i = 0; i < 4; i++) Assert.True(ring.TryWrite(Message(i)));
        Assert.False(ring.TryWrite(Message(99)));
        Assert.True(ring.TryRead(out var first));
        Assert.Equal(0L, first.Body);
        Assert.True(ring.TryWrite(Message(4)));
        var rest = new List<object?>();
        while (ring.TryRead(out var item)) rest.Add(item.Body);
        Assert.Equal([1L, 2L, 3L, 4L], rest);
    }

    [Fact]
    public void A_read_lets_go_of_the_message_body()
    {
        var ring = new SpscRing(2);
        var weak = Write(ring);
        Assert.True(Read(ring));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.False(weak.IsAlive);

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        static WeakReference Write(SpscRing ring)
        {
            var body = new object();
            ring.TryWrite(new Envelope(EnvelopeKind.Send, To, default, From, 1, body));
            return new WeakReference(body);
        }

        // Separate frames, so no local of the test itself keeps the body alive in a debug build.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        static bool Read(SpscRing ring) => ring.TryRead(out _);
    }

    [Fact]
    public async Task Two_threads_pass_a_million_messages_without_loss_duplication_or_reordering()
    {
        const long count = 1_000_000;
        var ring = new SpscRing(64);
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
        await producer;
        Assert.Equal(0, await consumer);
        Assert.False(ring.HasItem);
    }
}
