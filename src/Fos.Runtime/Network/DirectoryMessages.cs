using Fos.Kernel;
using Fos.Protocols.Naming;

namespace Fos.Runtime.Network;

/// <summary>
/// The directory's forwarded requests as fos messages between machines (see
/// <see cref="RaftDirectory.Forwarder"/>): a mailbox on the machine's first core takes what other
/// machines forward to this one while it leads, and this machine's requests go to the leader's
/// mailbox, which the replicated state records, through the machines' proxies. Only the machines'
/// own cores may forward; a request from an application is refused and counted.
/// </summary>
public sealed class DirectoryMessages
{
    /// <summary>How long a forwarded call may take at most: adding a machine waits for it to catch up.</summary>
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(15);

    private readonly Machine machine;
    private readonly RaftDirectory node;
    private long refusals;

    private DirectoryMessages(Machine machine, RaftDirectory node)
    {
        this.machine = machine;
        this.node = node;
    }

    /// <summary>The mailbox that takes forwarded requests on this machine.</summary>
    public Endpoint Mailbox { get; private set; }

    /// <summary>Requests refused because an application sent them.</summary>
    public long Refusals => Interlocked.Read(ref refusals);

    /// <summary>
    /// Opens the mailbox on <paramref name="machine"/>'s first core, makes it how
    /// <paramref name="node"/> forwards, and has the node record it in the replicated state so the
    /// other machines find it. The machine's proxy must be up for requests to cross.
    /// </summary>
    public static async Task<DirectoryMessages> Attach(Machine machine, RaftDirectory node)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(node);
        var messages = new DirectoryMessages(machine, node);
        messages.Mailbox = await machine.Execute(machine.Cores[0], k => Task.FromResult(k.CreateMailbox(messages.Handle))).ConfigureAwait(false);
        node.Forwarder = messages.Forward;
        node.PublishForwarder(messages.Mailbox);
        return messages;
    }

    /// <summary>On the first core: a request another machine forwarded, for the node while it leads.</summary>
    private async ValueTask<object?> Handle(Message message)
    {
        message.RequireSystem(ref refusals);
        if (message.Body is not IDirectoryRequest request)
            throw new FosException(FosError.BadRequest, $"the directory's mailbox does not understand {message.Body?.GetType().Name ?? "null"}");
        // Raft's work runs on the pool, not on this core's loop; the answer comes back here.
        return new DirectoryCommitted(await Task.Run(() => node.HandleForwarded(request)));
    }

    private async Task<long> Forward(ushort leader, IDirectoryRequest request, CancellationToken cancel)
    {
        var mailbox = node.ForwarderOf(leader)
            ?? throw new FosException(FosError.NoSuchMailbox, $"m{leader} leads the directory but has not recorded its mailbox yet");
        var reply = await machine.Execute(machine.Cores[0], k => k.Call(mailbox, request, CallTimeout).AsTask()).WaitAsync(cancel).ConfigureAwait(false);
        return reply is DirectoryCommitted committed
            ? committed.Index
            : throw new FosException(FosError.ServiceError, $"m{leader} answered a forwarded {request.GetType().Name} with {reply?.GetType().Name ?? "null"}");
    }
}
