namespace Fos.Kernel.Tests;

public class KernelMessagingTests
{
    private readonly ManualNetwork network = new();
    private readonly CoreKernel client;
    private readonly CoreKernel server;

    public KernelMessagingTests()
    {
        client = network.AddCore(1, 0);
        server = network.AddCore(1, 1);
    }

    private static MessageHandler Returns(Func<Message, object?> answer) => m => ValueTask.FromResult(answer(m));

    [Fact]
    public void A_one_way_send_reaches_the_handler_with_its_sender_and_mailbox()
    {
        var seen = new List<Message>();
        var box = server.CreateMailbox(Returns(m => { seen.Add(m); return null; }));
        client.Send(box, "hello");
        network.Pump();
        var message = Assert.Single(seen);
        Assert.Equal("hello", message.Body);
        Assert.Equal(client.Core.Kernel, message.From);
        Assert.Equal(box.Address, message.To);
        Assert.False(message.IsCall);
        Assert.Equal(1, server.Stats.Delivered);
        Assert.Equal(1, client.Stats.Sent);
    }

    [Fact]
    public async Task A_call_returns_what_the_handler_returns()
    {
        var box = server.CreateMailbox(Returns(m => $"echo {m.Body}"));
        var reply = client.Call(box, "ping").AsTask();
        network.Pump();
        Assert.Equal("echo ping", await reply);
        Assert.Equal(0, client.PendingCalls);
    }

    [Fact]
    public async Task A_calls_result_is_taken_once_and_its_record_is_reused_without_confusing_the_next_call()
    {
        var box = server.CreateMailbox(Returns(m => m.Body));
        var first = client.Call(box, 1);
        network.Pump();
        Assert.Equal(1, await first);
        // The record went back to the pool: the old ValueTask may not read the next call's answer.
        var second = client.Call(box, 2);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await first);
        Assert.False(second.IsCompleted);
        network.Pump();
        Assert.Equal(2, await second);
    }

    [Fact]
    public async Task A_failed_call_reused_from_the_pool_reports_its_own_error_and_the_next_its_own_answer()
    {
        var box = server.CreateMailbox(Returns(m => m.Body is "boom" ? throw new InvalidOperationException("boom") : m.Body));
        var failed = client.Call(box, "boom");
        network.Pump();
        var error = await Assert.ThrowsAsync<FosException>(async () => await failed);
        Assert.Equal(FosError.HandlerFailed, error.Error);
        var ok = client.Call(box, "fine");
        network.Pump();
        Assert.Equal("fine", await ok);
    }

    [Fact]
    public async Task A_mailbox_just_delivered_to_then_closed_or_revoked_refuses_the_next_message()
    {
        // The kernel remembers the mailbox it delivered to last; closing or revoking it must still count.
        var handled = new List<object?>();
        var first = server.CreateMailbox(Returns(m => { handled.Add(m.Body); return m.Body; }));
        var second = server.CreateMailbox(Returns(m => m.Body));
        var warm = client.Call(first, 1).AsTask();
        network.Pump();
        Assert.Equal(1, await warm);
        var renewed = server.Revoke(first.Address);
        var stale = client.Call(first, 2).AsTask();
        var fresh = client.Call(renewed, 3).AsTask();
        network.Pump();
        Assert.Equal(FosError.CapabilityRefused, (await Assert.ThrowsAsync<FosException>(() => stale)).Error);
        Assert.Equal(3, await fresh);
        server.CloseMailbox(first.Address);
        var closed = client.Call(renewed, 4).AsTask();
        var other = client.Call(second, 5).AsTask();
        network.Pump();
        Assert.Equal(FosError.NoSuchMailbox, (await Assert.ThrowsAsync<FosException>(() => closed)).Error);
        Assert.Equal(5, await other);
        Assert.Equal([1, 3], handled); // neither the stale capability nor the closed mailbox reached the handler
    }

    [Fact]
    public void Messages_from_one_sender_are_handled_in_the_order_sent()
    {
        var seen = new List<int>();
        var box = server.CreateMailbox(Returns(m => { seen.Add((int)m.Body!); return null; }));
        for (var i = 0; i < 100; i++) client.Send(box, i);
        network.Pump();
        Assert.Equal(Enumerable.Range(0, 100), seen);
    }

    [Fact]
    public async Task A_wrong_capability_is_refused_counted_and_never_reaches_the_handler()
    {
        var handled = 0;
        var box = server.CreateMailbox(Returns(_ => ++handled));
        var forged = box with { Capability = new Capability(1, 2) };
        var call = client.Call(forged, "let me in").AsTask();
        network.Pump();
        var error = await Assert.ThrowsAsync<FosException>(() => call);
        Assert.Equal(FosError.CapabilityRefused, error.Error);
        Assert.Contains("wrong capability", error.Message);
        Assert.Equal(0, handled);
        Assert.Equal(1, server.Stats.RefusedCapability);
        // The kernel keeps working for the rightful holder.
        var ok = client.Call(box, "me").AsTask();
        network.Pump();
        Assert.Equal(1, await ok);
    }

    [Fact]
    public async Task A_revoked_capability_is_refused_as_revoked_and_the_new_one_works()
    {
        var box = server.CreateMailbox(Returns(_ => "ok"));
        var renewed = server.Revoke(box.Address);
        Assert.NotEqual(box.Capability, renewed.Capability);
        var stale = client.Call(box, null).AsTask();
        var fresh = client.Call(renewed, null).AsTask();
        network.Pump();
        var error = await Assert.ThrowsAsync<FosException>(() => stale);
        Assert.Equal(FosError.CapabilityRefused, error.Error);
        Assert.Contains("revoked", error.Message);
        Assert.Equal("ok", await fresh);
    }

    [Fact]
    public async Task A_refused_one_way_send_is_counted_at_both_ends()
    {
        var box = server.CreateMailbox(Returns(_ => null));
        client.Send(box with { Capability = new Capability(9, 9) }, "x");
        network.Pump();
        Assert.Equal(1, server.Stats.RefusedCapability);
        Assert.Equal(1, client.Stats.SendsRefusedElsewhere);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task A_mailbox_that_never_existed_and_one_that_closed_say_which()
    {
        var box = server.CreateMailbox(Returns(_ => null));
        server.CloseMailbox(box.Address);
        var closed = client.Call(box, null).AsTask();
        var never = client.Call(new Endpoint(new Address(1, 1, 999), box.Capability), null).AsTask();
        network.Pump();
        var closedError = await Assert.ThrowsAsync<FosException>(() => closed);
        var neverError = await Assert.ThrowsAsync<FosException>(() => never);
        Assert.Equal(FosError.NoSuchMailbox, closedError.Error);
        Assert.Contains("stopped or died", closedError.Message);
        Assert.Equal(FosError.NoSuchMailbox, neverError.Error);
        Assert.Contains("never opened", neverError.Message);
        Assert.Equal(2, server.Stats.RefusedNoMailbox);
    }

    [Fact]
    public async Task A_call_to_a_core_that_does_not_exist_fails_at_once()
    {
        var call = client.Call(new Endpoint(new Address(1, 77, 1), new Capability(1, 1)), null).AsTask();
        var error = await Assert.ThrowsAsync<FosException>(() => call);
        Assert.Equal(FosError.NoSuchCore, error.Error);
        var send = Assert.Throws<FosException>(() => client.Send(new Endpoint(new Address(9, 0, 1), default), null));
        Assert.Equal(FosError.NoSuchCore, send.Error);
    }

    [Fact]
    public async Task A_full_mailbox_pushes_back_and_takes_messages_again_once_drained()
    {
        var gate = new TaskCompletionSource<object?>();
        var box = server.CreateMailbox(async _ => await gate.Task, capacity: 2);
        var first = client.Call(box, 1).AsTask();
        var second = client.Call(box, 2).AsTask();
        var third = client.Call(box, 3).AsTask();
        network.Pump();
        var error = await Assert.ThrowsAsync<FosException>(() => third);
        Assert.Equal(FosError.MailboxFull, error.Error);
        Assert.Contains("try again", error.Message);
        Assert.Equal(1, server.Stats.RefusedFull);
        Assert.False(first.IsCompleted);

        gate.SetResult("done");
        network.Pump();
        Assert.Equal("done", await first);
        Assert.Equal("done", await second);
        var again = client.Call(box, 4).AsTask();
        network.Pump();
        Assert.Equal("done", await again);
    }

    [Fact]
    public async Task A_call_without_an_answer_times_out_and_a_late_reply_is_dropped()
    {
        var gate = new TaskCompletionSource<object?>();
        var box = server.CreateMailbox(async _ => await gate.Task);
        var call = client.Call(box, "slow", TimeSpan.FromMilliseconds(10)).AsTask();
        network.Pump();
        network.Advance(TimeSpan.FromMilliseconds(9));
        Assert.False(call.IsCompleted);
        network.Advance(TimeSpan.FromMilliseconds(2));
        var error = await Assert.ThrowsAsync<FosException>(() => call);
        Assert.Equal(FosError.Timeout, error.Error);
        Assert.Contains("10 ms", error.Message);
        Assert.Equal(1, client.Stats.Timeouts);

        gate.SetResult("too late");
        network.Pump();
        Assert.Equal(1, client.Stats.LateReplies);
        Assert.Equal(0, client.PendingCalls);
    }

    [Fact]
    public async Task A_reply_from_anyone_but_the_called_mailbox_is_ignored()
    {
        var gate = new TaskCompletionSource<object?>();
        var box = server.CreateMailbox(async _ => await gate.Task);
        var call = client.Call(box, "q").AsTask();
        network.Pump();
        var correlation = network.Transmitted.Last(e => e.Kind == EnvelopeKind.Call).CorrelationId;
        network.Inject(new Envelope(EnvelopeKind.Reply, client.Core.Kernel, Capability.None, new Address(1, 1, 12345), correlation, "forged"));
        network.Pump();
        Assert.False(call.IsCompleted);
        Assert.Equal(1, client.Stats.ForgedReplies);
        gate.SetResult("real");
        network.Pump();
        Assert.Equal("real", await call);
    }

    [Fact]
    public async Task A_handler_that_throws_fails_the_call_and_the_mailbox_keeps_working()
    {
        var box = server.CreateMailbox(m => m.Body is "boom"
            ? throw new InvalidOperationException("bad state")
            : ValueTask.FromResult<object?>("fine"));
        var bad = client.Call(box, "boom").AsTask();
        var good = client.Call(box, "ok").AsTask();
        network.Pump();
        var error = await Assert.ThrowsAsync<FosException>(() => bad);
        Assert.Equal(FosError.HandlerFailed, error.Error);
        Assert.Contains("InvalidOperationException: bad state", error.Message);
        Assert.Equal("fine", await good);
        Assert.Equal(1, server.Stats.HandlerFailures);
    }

    [Fact]
    public async Task A_fos_error_thrown_by_a_handler_reaches_the_caller_with_its_code()
    {
        var box = server.CreateMailbox(_ => throw new FosException(FosError.BadRequest, "no such thing"));
        var call = client.Call(box, null).AsTask();
        network.Pump();
        var error = await Assert.ThrowsAsync<FosException>(() => call);
        Assert.Equal(FosError.BadRequest, error.Error);
        Assert.Equal("no such thing", error.Message);
    }

    [Fact]
    public async Task An_asynchronous_handler_error_is_reported_like_a_synchronous_one()
    {
        var gate = new TaskCompletionSource<object?>();
        var box = server.CreateMailbox(async _ =>
        {
            await gate.Task;
            throw new ArgumentException("later");
        });
        var call = client.Call(box, null).AsTask();
        network.Pump();
        gate.SetResult(null);
        network.Pump();
        var error = await Assert.ThrowsAsync<FosException>(() => call);
        Assert.Equal(FosError.HandlerFailed, error.Error);
        Assert.Contains("later", error.Message);
    }

    [Fact]
    public void Bad_arguments_to_the_kernel_api_are_refused_plainly()
    {
        Assert.Throws<ArgumentNullException>(() => server.CreateMailbox(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => server.CreateMailbox(_ => default, capacity: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => server.NextRandom(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = client.Call(default, null, TimeSpan.FromSeconds(-1)).AsTask(); });
        Assert.Throws<ArgumentOutOfRangeException>(() => server.StartTimer(TimeSpan.FromSeconds(-1), () => { }));
        var notMine = Assert.Throws<FosException>(() => server.CloseMailbox(new Address(1, 0, 1)));
        Assert.Equal(FosError.NoSuchMailbox, notMine.Error);
        var kernelBox = Assert.Throws<FosException>(() => server.Revoke(server.Core.Kernel));
        Assert.Equal(FosError.NoSuchMailbox, kernelBox.Error);
    }

    [Fact]
    public async Task Shutting_down_fails_every_call_still_waiting()
    {
        var box = server.CreateMailbox(_ => new ValueTask<object?>(new TaskCompletionSource<object?>().Task));
        var call = client.Call(box, null).AsTask();
        network.Pump();
        client.Shutdown();
        var error = await Assert.ThrowsAsync<FosException>(() => call);
        Assert.Equal(FosError.ShuttingDown, error.Error);
    }

    [Fact]
    public void The_kernel_control_mailbox_refuses_what_it_does_not_understand()
    {
        var call = client.Call(server.ControlEndpoint, "make me root").AsTask();
        network.Pump();
        var error = Assert.Throws<AggregateException>(() => call.Wait()).InnerException as FosException;
        Assert.Equal(FosError.BadRequest, error!.Error);
        Assert.Contains("does not understand", error.Message);
    }
}
