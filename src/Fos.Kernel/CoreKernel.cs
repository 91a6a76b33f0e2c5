using System.Collections.Immutable;
using Fos.Kernel.Naming;

namespace Fos.Kernel;

/// <summary>
/// The microkernel of one fos core: its mailboxes and their capabilities, the calls it waits on,
/// its name cache and its servers. It runs only on its core's loop (one thread at a time) and owns
/// all its state, so it needs no locks. The runtime beneath it (<see cref="ICoreHost"/>) moves
/// envelopes between cores and keeps time.
/// </summary>
public sealed class CoreKernel : IKernel
{
    public const int DefaultMailboxCapacity = 1024;
    public static readonly TimeSpan DefaultCallTimeout = TimeSpan.FromSeconds(5);

    private readonly ICoreHost host;
    private readonly Dictionary<uint, Mailbox> mailboxes = [];
    private readonly Dictionary<ulong, PendingCall> pendingCalls = [];
    private readonly Stack<PendingCall> callPool = new();
    private readonly List<PendingCall> unstamped = []; // calls made since the loop last read the clock
    private readonly bool deadlinesAtClockRead;
    private readonly Dictionary<string, NameRecord> nameCache = new(StringComparer.Ordinal);
    private readonly List<Server> servers = [];
    private readonly Address kernelAddress;
    private readonly KernelStats stats = new();
    private IReadOnlyDictionary<CoreId, Endpoint> directory = new Dictionary<CoreId, Endpoint>();
    private uint nextMailbox = Address.KernelMailbox + 1;
    private ulong lastCorrelation;
    private KernelTimer? timeoutSweep;
    private bool shuttingDown;
    private Mailbox? lastDelivered;

    public CoreKernel(ICoreHost host)
    {
        this.host = host;
        Core = host.Core;
        deadlinesAtClockRead = host.ReportsClockReads;
        kernelAddress = Core.Kernel;
        var control = new Mailbox(Address.KernelMailbox, HandleControl, host.NewCapability(), DefaultMailboxCapacity, owner: null);
        mailboxes.Add(control.Id, control);
        ControlEndpoint = new Endpoint(kernelAddress, control.Capability);
    }

    public CoreId Core { get; }

    /// <summary>The kernel's own mailbox: spawn and stop requests, name-cache invalidations.</summary>
    public Endpoint ControlEndpoint { get; }

    /// <summary>The naming server, set at boot before any program runs.</summary>
    public Endpoint? NameServer { get; set; }

    /// <summary>
    /// The outbound mailbox of this machine's proxy, set at boot on a machine that is part of a
    /// cluster: a message to another machine goes to it. Null: this machine reaches no other.
    /// </summary>
    public Endpoint? Proxy { get; set; }

    /// <summary>Every core's kernel endpoint, given at boot, so spawns and stops can reach any core.</summary>
    public IReadOnlyDictionary<CoreId, Endpoint> Directory
    {
        get => directory;
        set => directory = value;
    }

    public TimeSpan Now => TimeSpan.FromTicks(host.NowNanoseconds / 100);

    public KernelStats Stats => stats;

    /// <summary>How many calls this kernel still waits on.</summary>
    public int PendingCalls => pendingCalls.Count;

    public IReadOnlyList<ServerInfo> Servers =>
        [.. servers.Select(s => new ServerInfo(s.ImageName, s.Endpoint, mailboxes.TryGetValue(s.Endpoint.Address.Mailbox, out var m) ? m.Handled : 0))];

    public ulong NextRandom() => host.NextRandom();

    public int NextRandom(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        return (int)(host.NextRandom() % (ulong)maxExclusive);
    }

    // ---- mailboxes ---------------------------------------------------------------------------

    public Endpoint CreateMailbox(MessageHandler handler, int capacity = 0) => Open(handler, capacity, owner: null);

    private Endpoint Open(MessageHandler handler, int capacity, Server? owner)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        var box = new Mailbox(nextMailbox++, handler, host.NewCapability(), capacity == 0 ? DefaultMailboxCapacity : capacity, owner);
        mailboxes.Add(box.Id, box);
        return new Endpoint(new Address(Core.Machine, Core.Core, box.Id), box.Capability);
    }

    public void CloseMailbox(Address mailbox)
    {
        var box = OwnMailbox(mailbox);
        box.Closed = true;
        mailboxes.Remove(box.Id);
    }

    public Endpoint Revoke(Address mailbox)
    {
        var box = OwnMailbox(mailbox);
        (box.Revoked ??= []).Add(box.Capability);
        box.Capability = host.NewCapability();
        return new Endpoint(mailbox, box.Capability);
    }

    private Mailbox OwnMailbox(Address mailbox)
    {
        if (mailbox.CoreId != Core)
            throw new FosException(FosError.NoSuchMailbox, $"{mailbox} is not on this core ({Core}); only its own kernel can change it");
        if (mailbox.Mailbox == Address.KernelMailbox || !mailboxes.TryGetValue(mailbox.Mailbox, out var box))
            throw new FosException(FosError.NoSuchMailbox, $"no mailbox {mailbox} on this core");
        return box;
    }

    // ---- messaging ---------------------------------------------------------------------------

    public void Send(Endpoint to, object? message)
    {
        stats.Sent++;
        if (!host.Transmit(new Envelope(EnvelopeKind.Send, to.Address, to.Capability, kernelAddress, 0, message)))
            throw new FosException(FosError.NoSuchCore, $"cannot send to {to.Address}: core {to.Address.CoreId} is not part of this system");
    }

    public ValueTask<object?> Call(Endpoint to, object? request, TimeSpan timeout = default) =>
        Place(to, request, timeout, null).Task; // taken before the record can be reused: only its result's taking frees it

    public ValueTask<TReply> Call<TReply>(Endpoint to, object? request, TimeSpan timeout = default, CallPolicy? policy = null) =>
        Place(to, request, timeout, policy).Typed<TReply>();

    private PendingCall Place(Endpoint to, object? request, TimeSpan timeout, CallPolicy? policy)
    {
        if (timeout == default) timeout = DefaultCallTimeout;
        if (timeout != Timeout.InfiniteTimeSpan) ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        var pending = callPool.TryPop(out var reused) ? reused : new PendingCall(callPool);
        pending.Start(request, timeout, policy);
        Transmit(pending, to, request);
        return pending;
    }

    /// <summary>Sends a call (again, when it fails over) under a new correlation; a failure to send answers it at once.</summary>
    private void Transmit(PendingCall pending, Endpoint to, object? request)
    {
        var forever = pending.Timeout == Timeout.InfiniteTimeSpan;
        var stampLater = !forever && deadlinesAtClockRead;
        pending.Aim(to.Address, forever ? long.MaxValue : stampLater ? PendingCall.Unstamped : host.NowNanoseconds + pending.Timeout.Ticks * 100);
        if (shuttingDown)
        {
            Resolve(pending, null, new FosException(FosError.ShuttingDown, $"core {Core} is shutting down: it makes no more calls"));
            return;
        }
        stats.CallsMade++;
        var correlation = ++lastCorrelation;
        pendingCalls.Add(correlation, pending);
        if (stampLater) unstamped.Add(pending);
        else if (!forever) ArmTimeoutSweep(pending.DeadlineNanoseconds);
        bool sent;
        try
        {
            sent = host.Transmit(new Envelope(EnvelopeKind.Call, to.Address, to.Capability, kernelAddress, correlation, request));
        }
        catch (FosException ex)
        {
            Complete(correlation, null, ex);
            return;
        }
        if (!sent)
            Complete(correlation, null, new FosException(FosError.NoSuchCore,
                $"cannot call {to.Address}: core {to.Address.CoreId} is not part of this system"));
    }

    /// <summary>
    /// The runtime beneath has just read the clock (see <see cref="ICoreHost.ReportsClockReads"/>):
    /// the calls made since the last read get their deadlines, counted from this later time.
    /// </summary>
    public void ClockRead(long now)
    {
        if (unstamped.Count == 0) return;
        var earliest = long.MaxValue;
        foreach (var pending in unstamped)
        {
            // A call answered since is back in the pool (no longer unstamped) or made again, and then stamped rightly.
            if (pending.DeadlineNanoseconds != PendingCall.Unstamped) continue;
            pending.Aim(pending.Target, now + pending.Timeout.Ticks * 100);
            earliest = Math.Min(earliest, pending.DeadlineNanoseconds);
        }
        unstamped.Clear();
        if (earliest != long.MaxValue) ArmTimeoutSweep(earliest);
    }

    // Call timeouts share one kernel timer set for the earliest deadline, not one timer per call: with
    // a common timeout, deadlines only grow, so a call costs no timer at all while one is armed.
    private void ArmTimeoutSweep(long deadline)
    {
        if (timeoutSweep is { Cancelled: false } armed && armed.DueNanoseconds <= deadline) return;
        timeoutSweep?.Cancel();
        timeoutSweep = new KernelTimer(deadline, SweepTimeouts);
        host.Schedule(timeoutSweep);
    }

    private void SweepTimeouts()
    {
        timeoutSweep = null;
        var now = host.NowNanoseconds;
        List<ulong>? expired = null;
        var next = long.MaxValue;
        foreach (var (correlation, pending) in pendingCalls)
        {
            if (pending.DeadlineNanoseconds <= now) (expired ??= []).Add(correlation);
            else if (pending.DeadlineNanoseconds < PendingCall.Unstamped) next = Math.Min(next, pending.DeadlineNanoseconds);
        }
        if (next != long.MaxValue) ArmTimeoutSweep(next);
        if (expired is null) return;
        expired.Sort(); // oldest call first, the same order on every run
        foreach (var correlation in expired)
        {
            if (!pendingCalls.TryGetValue(correlation, out var pending)) continue;
            stats.Timeouts++;
            Complete(correlation, null, new FosException(FosError.Timeout,
                $"no reply from {pending.Target} within {pending.Timeout.TotalMilliseconds:0.###} ms (its server may be dead, overloaded or unreachable)"));
        }
    }

    private void Complete(ulong correlation, object? reply, Exception? error)
    {
        if (pendingCalls.Remove(correlation, out var pending)) Resolve(pending, reply, error);
    }

    /// <summary>Answers a call already taken out of the pending ones.</summary>
    private void Resolve(PendingCall pending, object? reply, Exception? error)
    {
        if (error is FosException { Error: FosError.NoSuchMailbox or FosError.Timeout or FosError.CapabilityRefused })
            ForgetNamesServedBy(pending.Target); // a rebind notice may have been lost: ask again next time
        if (error is FosException { Error: FosError.NoSuchMailbox } && pending.TakeFailover() is { } name)
            FailOver(pending, name);
        else if (error is null) pending.SetResult(reply);
        else pending.SetException(error);
    }

    // The member called left its fleet (it finishes what it started before it goes, so the request
    // never ran there) and handed on what it kept: the nearest member now takes the call.
    private void FailOver(PendingCall pending, string name)
    {
        var nearest = Lookup(name);
        if (nearest.IsCompletedSuccessfully) Transmit(pending, nearest.Result, pending.Request);
        else _ = FailOverAfterLookup(pending, nearest);
    }

    private async Task FailOverAfterLookup(PendingCall pending, ValueTask<Endpoint> nearest)
    {
        Endpoint to;
        try
        {
            to = await nearest;
        }
        catch (Exception ex)
        {
            pending.SetException(ex);
            return;
        }
        Transmit(pending, to, pending.Request);
    }

    /// <summary>Entry point of the runtime: an envelope has arrived on this core.</summary>
    public void Deliver(in Envelope envelope)
    {
        switch (envelope.Kind)
        {
            case EnvelopeKind.Reply:
            case EnvelopeKind.Fault:
                DeliverReply(envelope);
                return;
            case EnvelopeKind.Send:
            case EnvelopeKind.Call:
                DeliverToMailbox(envelope);
                return;
            default:
                stats.RefusedNoMailbox++;
                return;
        }
    }

    private void DeliverReply(in Envelope envelope)
    {
        if (envelope.CorrelationId == 0)
        {
            // A one-way send of ours was refused at the other end.
            stats.SendsRefusedElsewhere++;
            return;
        }
        // One dictionary operation on the common path: taken out at once, put back if forged.
        if (!pendingCalls.Remove(envelope.CorrelationId, out var pending))
        {
            stats.LateReplies++; // timed out already, or a duplicate
            return;
        }
        if (pending.Target != envelope.From)
        {
            pendingCalls.Add(envelope.CorrelationId, pending);
            stats.ForgedReplies++; // only the called mailbox may answer
            return;
        }
        stats.RepliesReceived++;
        if (envelope.Kind == EnvelopeKind.Reply)
            Resolve(pending, envelope.Body, null);
        else
            Resolve(pending, null, envelope.Body is KernelFault fault
                ? new FosException(fault)
                : new FosException(FosError.BadRequest, "malformed fault reply"));
    }

    private void DeliverToMailbox(in Envelope envelope)
    {
        // The mailbox delivered to last, checked first: a stream of messages to one server skips
        // the dictionary. A closed mailbox is out of the dictionary and never matches here.
        var box = lastDelivered;
        if ((box is null || box.Id != envelope.To.Mailbox || box.Closed) && !mailboxes.TryGetValue(envelope.To.Mailbox, out box))
        {
            stats.RefusedNoMailbox++;
            Refuse(envelope, FosError.NoSuchMailbox, envelope.To.Mailbox < nextMailbox
                ? $"no mailbox {envelope.To}: its server has stopped or died"
                : $"no mailbox {envelope.To}: it was never opened");
            return;
        }
        lastDelivered = box;
        if (box.Capability != envelope.Capability)
        {
            stats.RefusedCapability++;
            Refuse(envelope, FosError.CapabilityRefused, box.Revoked?.Contains(envelope.Capability) == true
                ? $"refused by {envelope.To}: the capability was revoked"
                : $"refused by {envelope.To}: wrong capability");
            return;
        }
        if (box.InFlight >= box.Capacity)
        {
            stats.RefusedFull++;
            Refuse(envelope, FosError.MailboxFull, $"{envelope.To} is full ({box.Capacity} messages waiting); try again later");
            return;
        }
        box.InFlight++;
        box.Handled++;
        stats.Delivered++;
        ValueTask<object?> result;
        try
        {
            result = box.Handler(new Message(envelope.Body, envelope.From, envelope.To, envelope.Kind == EnvelopeKind.Call));
        }
        catch (Exception ex)
        {
            Finish(box, envelope, null, ex);
            return;
        }
        if (result.IsCompletedSuccessfully)
            Finish(box, envelope, result.Result, null);
        else
            _ = FinishLater(box, envelope, result);
    }

    private async Task FinishLater(Mailbox box, Envelope envelope, ValueTask<object?> pending)
    {
        object? reply = null;
        Exception? error = null;
        try
        {
            reply = await pending;
        }
        catch (Exception ex)
        {
            error = ex;
        }
        Finish(box, envelope, reply, error);
    }

    private void Finish(Mailbox box, in Envelope envelope, object? reply, Exception? error)
    {
        box.InFlight--;
        if (error is not null) stats.HandlerFailures++;
        if (envelope.Kind != EnvelopeKind.Call) return;
        if (box.Closed)
        {
            Reply(envelope, EnvelopeKind.Fault, new KernelFault(FosError.NoSuchMailbox, $"{envelope.To} stopped before it answered"));
            return;
        }
        if (error is null)
            Reply(envelope, EnvelopeKind.Reply, reply);
        else
            Reply(envelope, EnvelopeKind.Fault, error is FosException fos
                ? new KernelFault(fos.Error, fos.Message, fos.Code)
                : new KernelFault(FosError.HandlerFailed, $"{envelope.To} failed handling {envelope.Body?.GetType().Name ?? "null"}: {error.GetType().Name}: {error.Message}"));
    }

    private void Refuse(in Envelope envelope, FosError error, string message) =>
        // A refused one-way send is reported too (correlation 0), so its sender's kernel counts it.
        Reply(envelope, EnvelopeKind.Fault, new KernelFault(error, message));

    private void Reply(in Envelope request, EnvelopeKind kind, object? body)
    {
        try
        {
            host.Transmit(new Envelope(kind, request.From.CoreId.Kernel, Capability.None, request.To, request.CorrelationId, body));
        }
        catch (FosException)
        {
            // The way back is full: the caller's timeout reports it. Nothing here may throw.
        }
    }

    // ---- other machines ----------------------------------------------------------------------

    public Network.ILinks OpenLinks(Network.ILinkEvents events)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (Core.IsProcess) throw new FosException(FosError.CapabilityRefused, $"{Core} is an application's core: only the machine's own cores hold its links");
        return host.OpenLinks(events);
    }

    public Naming.IDirectory OpenDirectory(Naming.IDirectoryEvents events)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (Core.IsProcess) throw new FosException(FosError.CapabilityRefused, $"{Core} is an application's core: the directory is the naming server's");
        return host.OpenDirectory(events);
    }

    public void Relay(in Envelope envelope)
    {
        if (Core.IsProcess) throw new FosException(FosError.CapabilityRefused, $"{Core} is an application's core: it relays nothing");
        if (envelope.To.Machine != Core.Machine || envelope.From.Machine == Core.Machine)
            throw new FosException(FosError.CapabilityRefused,
                $"{Core} relays only messages from another machine to this one, not {envelope.From} -> {envelope.To}");
        stats.Relayed++;
        if (!host.Transmit(envelope))
            Refuse(envelope, FosError.NoSuchCore, $"no core {envelope.To.CoreId} on m{Core.Machine}");
    }

    // ---- timers ------------------------------------------------------------------------------

    public KernelTimer StartTimer(TimeSpan delay, Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        var timer = new KernelTimer(host.NowNanoseconds + delay.Ticks * 100, callback);
        host.Schedule(timer);
        return timer;
    }

    public Task Delay(TimeSpan delay)
    {
        var done = new TaskCompletionSource();
        StartTimer(delay, () => done.TrySetResult());
        return done.Task;
    }

    // ---- servers -----------------------------------------------------------------------------

    public Task<Endpoint> Spawn(ServerImage image, CoreId core)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (core == Core) return Task.FromResult(StartServer(image));
        if (!directory.TryGetValue(core, out var kernel))
            return Task.FromException<Endpoint>(new FosException(FosError.NoSuchCore, $"cannot spawn {image.Name} on {core}: no such core in this system"));
        return Call<Endpoint>(kernel, new SpawnRequest(image)).AsTask();
    }

    public Task Stop(Endpoint server)
    {
        if (server.Address.CoreId == Core)
        {
            try
            {
                StopServer(server);
            }
            catch (FosException ex)
            {
                return Task.FromException(ex);
            }
            return Task.CompletedTask;
        }
        if (!directory.TryGetValue(server.Address.CoreId, out var kernel))
            return Task.FromException(new FosException(FosError.NoSuchCore, $"cannot stop {server.Address}: core {server.Address.CoreId} is not in this system"));
        return Call(kernel, new StopRequest(server)).AsTask();
    }

    public long GrantMemory(CoreId holder, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        return host.GrantMemory(holder, bytes);
    }

    public void RevokeMemory(long token) => host.RevokeMemory(token);

    public long ShareMemory(long token, CoreId holder) => host.ShareMemory(token, holder);

    public Memory<byte> MapMemory(long token, long bytes) => host.MapMemory(token, bytes);

    public void UnmapMemory(long token) => host.UnmapMemory(token);

    public Processes.ProcessHandle StartProcess(Processes.ProcessLaunch launch, CoreId near, Action<Processes.ProcessStream, ReadOnlyMemory<byte>> output)
    {
        ArgumentNullException.ThrowIfNull(launch);
        ArgumentNullException.ThrowIfNull(output);
        return host.StartProcess(launch, near, output);
    }

    /// <summary>Stops a server of this core if <paramref name="server"/> carries its mailbox's capability.</summary>
    private void StopServer(Endpoint server)
    {
        if (!mailboxes.TryGetValue(server.Address.Mailbox, out var box) || box.Owner is null)
            throw new FosException(FosError.NoSuchMailbox, $"no server owns {server.Address}");
        if (box.Capability != server.Capability)
        {
            stats.RefusedCapability++;
            throw new FosException(FosError.CapabilityRefused, $"refused to stop {server.Address}: wrong capability");
        }
        StopServer(server.Address);
    }

    /// <summary>Starts a server on this core. Its mailbox is open when this returns; OnStart runs after.</summary>
    public Endpoint StartServer(ServerImage image)
    {
        var server = image.Create();
        var endpoint = Open(server.Receive, image.MailboxCapacity, server);
        server.Attach(this, endpoint, image.Name);
        servers.Add(server);
        _ = RunOnStart(server);
        return endpoint;
    }

    private async Task RunOnStart(Server server)
    {
        try
        {
            await server.Start();
        }
        catch (Exception)
        {
            stats.HandlerFailures++;
            StopServer(server.Endpoint.Address);
        }
    }

    /// <summary>Stops a server of this core: closes its mailboxes; calls to them fail from now on.</summary>
    public void StopServer(Address mailbox)
    {
        if (!mailboxes.TryGetValue(mailbox.Mailbox, out var box) || box.Owner is null)
            throw new FosException(FosError.NoSuchMailbox, $"no server owns {mailbox}");
        var server = box.Owner;
        foreach (var owned in mailboxes.Values.Where(m => m.Owner == server).ToList())
        {
            owned.Closed = true;
            mailboxes.Remove(owned.Id);
        }
        servers.Remove(server);
        try
        {
            server.Stop();
        }
        catch (Exception)
        {
            stats.HandlerFailures++;
        }
    }

    /// <summary>Stops every server of this core (the core is shutting down) and fails every call it waits on.</summary>
    public void Shutdown()
    {
        shuttingDown = true; // a continuation resumed below cannot start a call nobody would end
        foreach (var server in servers.ToList())
            StopServer(server.Endpoint.Address);
        foreach (var correlation in pendingCalls.Keys.ToList())
            Complete(correlation, null, new FosException(FosError.ShuttingDown, $"core {Core} is shutting down"));
    }

    private ValueTask<object?> HandleControl(Message message)
    {
        switch (message.Body)
        {
            case SpawnRequest spawn:
                return ValueTask.FromResult<object?>(StartServer(spawn.Image));
            case StopRequest stop:
                StopServer(stop.Server);
                return ValueTask.FromResult<object?>(Ack.Instance);
            case NameChanged changed:
                if (nameCache.TryGetValue(changed.Name, out var cached) && cached.Version < changed.Version)
                    nameCache.Remove(changed.Name);
                return ValueTask.FromResult<object?>(null);
            default:
                throw new FosException(FosError.BadRequest, $"the kernel of {Core} does not understand {message.Body?.GetType().Name ?? "null"}");
        }
    }

    // ---- names -------------------------------------------------------------------------------

    public ValueTask<Endpoint> Lookup(string name)
    {
        // A cached name was checked when it was cached: the common case costs one dictionary read.
        // Failures come through the ValueTask, as from any lookup, never thrown from here.
        if (name is not null && nameCache.TryGetValue(name, out var cached))
            return cached.Members.Length > 0 ? ValueTask.FromResult(cached.Members[0]) : ValueTask.FromException<Endpoint>(NoMember(name));
        return LookupSlow(name!);

        async ValueTask<Endpoint> LookupSlow(string name)
        {
            var record = await LookupAll(name);
            return record.Members.Length > 0 ? record.Members[0] : throw NoMember(name);
        }
    }

    private static FosException NoMember(string name) => new(FosError.NoSuchName, $"no server is registered under '{name}'");

    public ValueTask<NameRecord> LookupAll(string name)
    {
        if (name is not null && nameCache.TryGetValue(name, out var cached)) return ValueTask.FromResult(cached);
        try
        {
            NameValidation.Check(name);
        }
        catch (FosException ex)
        {
            return ValueTask.FromException<NameRecord>(ex);
        }
        return Ask(name!);

        async ValueTask<NameRecord> Ask(string name)
        {
            var record = await this.Call<NameRecord>(RequireNameServer(), new NameLookup(name, Core, ControlEndpoint));
            if (!nameCache.TryGetValue(name, out var current) || current.Version < record.Version)
                nameCache[name] = record;
            return record;
        }
    }

    private void ForgetNamesServedBy(Address target)
    {
        List<string>? stale = null;
        foreach (var (name, record) in nameCache)
            if (record.Members.Any(m => m.Address == target)) (stale ??= []).Add(name);
        if (stale is null) return;
        foreach (var name in stale) nameCache.Remove(name);
    }

    /// <summary>Whether <paramref name="name"/> is in this kernel's name cache (for tests and the layout).</summary>
    public bool IsCached(string name) => nameCache.ContainsKey(name);

    public Storage.IStore OpenStore(string name) =>
        (host.Stores ?? throw new FosException(FosError.NoStorage,
            $"{Core} has no storage for '{name}': boot the machine with a data directory")).Open(name);

    public Task<NameRecord> Register(string name, Endpoint member)
    {
        NameValidation.Check(name);
        return UpdateName(name, new NameRegister(name, member));
    }

    public Task<NameRecord> Unregister(string name, Endpoint member)
    {
        NameValidation.Check(name);
        return UpdateName(name, new NameUnregister(name, member));
    }

    private async Task<NameRecord> UpdateName(string name, object request)
    {
        var record = await this.Call<NameRecord>(RequireNameServer(), request);
        nameCache.Remove(name); // our own view of it is stale now; the next lookup asks again, sorted for us
        return record;
    }

    private Endpoint RequireNameServer() =>
        NameServer ?? throw new FosException(FosError.NoSuchName, $"the kernel of {Core} has no name server yet (the system is still booting)");
}

/// <summary>What a fos name may look like: an absolute path of printable segments.</summary>
public static class NameValidation
{
    public const int MaxLength = 256;

    public static void Check(string? name)
    {
        if (name is null || name.Length is 0 or > MaxLength || name[0] != '/' || name.EndsWith('/') && name.Length > 1
            || name.Contains("//", StringComparison.Ordinal) || name.Any(char.IsControl) || name.Any(char.IsWhiteSpace))
            throw new FosException(FosError.BadRequest,
                $"'{name ?? "(null)"}' is not a valid name: use an absolute path such as /sys/fs (at most {MaxLength} characters, no spaces)");
    }
}
