using Fos.Kernel.Naming;

namespace Fos.Kernel;

/// <summary>
/// The kernel API: everything a server or an application on a fos core may use. Server code
/// touches nothing else (no threads, host clocks, locks, sockets or files); the banned-API analyzer
/// holds it to that, which is what lets the same code run on real cores and in the simulator.
/// Every member must be called from the core's own loop (handlers and their continuations are).
/// </summary>
public interface IKernel
{
    /// <summary>The core this kernel runs on.</summary>
    CoreId Core { get; }

    /// <summary>Monotonic time since boot; virtual time in the simulator.</summary>
    TimeSpan Now { get; }

    /// <summary>A random number from the kernel's source (seeded in the simulator).</summary>
    ulong NextRandom();

    /// <summary>A uniformly random integer in [0, maxExclusive).</summary>
    int NextRandom(int maxExclusive);

    /// <summary>Opens a mailbox on this core whose messages run <paramref name="handler"/>.</summary>
    /// <param name="capacity">Most messages held at once (queued or being handled); 0 takes the default.</param>
    Endpoint CreateMailbox(MessageHandler handler, int capacity = 0);

    /// <summary>Closes a mailbox of this core; later messages to it are refused as <see cref="FosError.NoSuchMailbox"/>.</summary>
    void CloseMailbox(Address mailbox);

    /// <summary>Draws a new capability for a mailbox of this core; every copy of the old one is refused from now on.</summary>
    Endpoint Revoke(Address mailbox);

    /// <summary>One-way message. FIFO per sender and receiver; a refusal is counted at both ends.</summary>
    /// <exception cref="FosException"><see cref="FosError.Backpressure"/> when the path to the target core is full.</exception>
    void Send(Endpoint to, object? message);

    /// <summary>
    /// Request/reply: the handler's result, or a <see cref="FosException"/> saying why not. The
    /// result comes from a pooled source, so a call allocates nothing: await it once, on this core
    /// (or take AsTask() at once to combine or keep it).
    /// </summary>
    /// <param name="timeout">Default: 5 s. <see cref="Timeout.InfiniteTimeSpan"/> waits as long as the answer takes
    /// (waiting for a process to end); only a failure the kernel sees (no mailbox, refusal) ends such a call early.</param>
    ValueTask<object?> Call(Endpoint to, object? request, TimeSpan timeout = default);

    /// <summary>
    /// A call whose reply must be a <typeparamref name="TReply"/> (anything else is
    /// <see cref="FosError.BadRequest"/>). As with the untyped call, the caller awaits the kernel's
    /// pooled record of the call, so a library that returns this to its caller adds no task and no
    /// resumption; <paramref name="policy"/> says what the library makes of a failure.
    /// </summary>
    ValueTask<TReply> Call<TReply>(Endpoint to, object? request, TimeSpan timeout = default, CallPolicy? policy = null);

    /// <summary>Runs <paramref name="callback"/> on this core after <paramref name="delay"/>, unless cancelled.</summary>
    KernelTimer StartTimer(TimeSpan delay, Action callback);

    /// <summary>A task that completes on this core after <paramref name="delay"/> (a kernel timer).</summary>
    Task Delay(TimeSpan delay);

    /// <summary>Starts a server on a core; returns its main mailbox.</summary>
    Task<Endpoint> Spawn(ServerImage image, CoreId core);

    /// <summary>
    /// Stops the server that owns <paramref name="server"/>'s mailbox, on whatever core it runs. The
    /// endpoint's capability must be the mailbox's: an address alone stops nothing.
    /// </summary>
    Task Stop(Endpoint server);

    /// <summary>
    /// Starts an application process on a process core of its own, placed on the CPU of core
    /// <paramref name="near"/>. What it writes to its standard streams comes to
    /// <paramref name="output"/> on this core, as it is written. Only the machine's own cores may.
    /// </summary>
    /// <exception cref="FosException">The program cannot start (no such file, not a .NET application), or this core may not start processes.</exception>
    Processes.ProcessHandle StartProcess(Processes.ProcessLaunch launch, CoreId near, Action<Processes.ProcessStream, ReadOnlyMemory<byte>> output);

    /// <summary>The nearest member of a name (cached in this kernel, invalidated when the name is rebound).</summary>
    ValueTask<Endpoint> Lookup(string name);

    /// <summary>All members of a name, nearest first, with the binding's version.</summary>
    ValueTask<NameRecord> LookupAll(string name);

    /// <summary>Adds <paramref name="member"/> to the members of <paramref name="name"/>.</summary>
    Task<NameRecord> Register(string name, Endpoint member);

    /// <summary>Removes <paramref name="member"/> from the members of <paramref name="name"/>.</summary>
    Task<NameRecord> Unregister(string name, Endpoint member);

    /// <summary>
    /// Opens the store called <paramref name="name"/> (created if new): a service's storage port.
    /// The server that opens a store closes it (disposes it) when it stops.
    /// </summary>
    /// <exception cref="FosException"><see cref="FosError.NoStorage"/> when this machine was booted without storage.</exception>
    Storage.IStore OpenStore(string name);

    /// <summary>What this kernel has counted since boot.</summary>
    KernelStats Stats { get; }

    /// <summary>
    /// The machine's side of memory a service grants: <paramref name="bytes"/> of zeroed shared
    /// memory, delivered to <paramref name="holder"/> (an application process's core, or a machine
    /// core for the system's own code) under the token returned, and to nobody else. Only the
    /// machine's own cores may grant.
    /// </summary>
    long GrantMemory(CoreId holder, long bytes);

    /// <summary>The machine lets go of a grant; its pages go back once its holder has unmapped them too (or ended).</summary>
    void RevokeMemory(long token);

    /// <summary>
    /// The same memory as grant <paramref name="token"/>, delivered to <paramref name="holder"/> too
    /// under a new token: both map the same pages, nothing is copied. Only the machine's own cores may.
    /// </summary>
    long ShareMemory(long token, CoreId holder);

    /// <summary>The holder's side: the memory granted to this core under <paramref name="token"/>, mapped; anything else is EBADF.</summary>
    Memory<byte> MapMemory(long token, long bytes);

    /// <summary>The holder lets go of its mapping; the memory must not be used after.</summary>
    void UnmapMemory(long token);

    /// <summary>The servers running on this core.</summary>
    IReadOnlyList<ServerInfo> Servers { get; }

    /// <summary>
    /// The machine's links to other machines, for its proxy alone: <paramref name="events"/> hears
    /// of them on this core. A machine opens them once; a runtime without a network says so.
    /// </summary>
    Network.ILinks OpenLinks(Network.ILinkEvents events);

    /// <summary>
    /// The directory of names, for the naming server alone: <paramref name="events"/> hears, on
    /// this core, every change committed to it, in order. A machine on its own commits at once.
    /// </summary>
    Naming.IDirectory OpenDirectory(Naming.IDirectoryEvents events);

    /// <summary>
    /// The proxy's side of a message that came from another machine: sends it on to its target on
    /// this machine as if its sender had, where the target's kernel checks its capability as for
    /// any message. Only a message from another machine to this one may be relayed.
    /// </summary>
    void Relay(in Envelope envelope);
}

/// <summary>Typed helpers over <see cref="IKernel"/>.</summary>
public static class KernelExtensions
{
    /// <summary>A reply as the <typeparamref name="TReply"/> it must be; anything else is <see cref="FosError.BadRequest"/> naming <paramref name="from"/>.</summary>
    public static TReply Expect<TReply>(object? reply, string from) => reply is TReply typed ? typed : throw Unexpected<TReply>(reply, from);

    /// <summary>The failure of a reply that is not the <typeparamref name="TReply"/> it must be.</summary>
    public static FosException Unexpected<TReply>(object? reply, string from) =>
        new(FosError.BadRequest, $"{from} answered {reply?.GetType().Name ?? "nothing"} where {typeof(TReply).Name} was expected");

    /// <summary>A call to the nearest member of a name.</summary>
    public static async Task<TReply> Call<TReply>(this IKernel kernel, string name, object? request, TimeSpan timeout = default) =>
        await kernel.Call<TReply>(await kernel.Lookup(name), request, timeout);
}

/// <summary>A timer on a core's loop; cancelling it before it fires means it never runs.</summary>
public sealed class KernelTimer
{
    internal KernelTimer(long dueNanoseconds, Action callback)
    {
        DueNanoseconds = dueNanoseconds;
        Callback = callback;
    }

    public long DueNanoseconds { get; }
    internal Action Callback { get; }
    public bool Cancelled { get; private set; }

    public void Cancel() => Cancelled = true;

    /// <summary>Called by the runtime when the timer is due.</summary>
    public void Fire()
    {
        if (Cancelled) return;
        Cancelled = true;
        Callback();
    }
}

/// <summary>One server on a core, as the layout shows it.</summary>
public sealed record ServerInfo(string Name, Endpoint Endpoint, long MessagesHandled);
