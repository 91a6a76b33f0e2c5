using Fos.Kernel;
using Fos.Kernel.Naming;

namespace Fos.Services.Naming;

/// <summary>
/// A member of the naming fleet (<c>/sys/name</c>), one per machine: its machine's replica of the
/// directory of names. Changes (a member registered or withdrawn) go to the directory, which
/// commits them in one order for the whole cluster and applies them on every machine's replica;
/// lookups are answered from the replica here, nearest member first for the asking core. It
/// remembers which kernels of its machine cache each name and tells them when the name is rebound.
/// </summary>
public sealed class NameServer : Server, IDirectoryEvents
{
    public static readonly ServerImage Image = new("name-server", () => new NameServer());

    private readonly Dictionary<string, Binding> names = new(StringComparer.Ordinal);
    private readonly HashSet<(string Name, Endpoint Member)> registeredHere = []; // by this server since it started: what it puts back if the others took this machine for lost
    private int withdrawingSelf; // this machine's own withdrawals under way, which it does not undo
    private IDirectory? directory;
    private long version;
    private long refusals;

    private IDirectory Directory => directory ??= Kernel.OpenDirectory(this);

    protected override ValueTask<object?> Handle(Message message) => message.Body switch
    {
        NameRegister register => Register(message, register),
        NameUnregister unregister => Unregister(message, unregister),
        NameWithdrawCore withdraw => Withdraw(message, DirectoryChange.WithdrawCore(withdraw.Core)),
        NameWithdrawMachine lost => Withdraw(message, DirectoryChange.WithdrawMachine(lost.Machine)),
        NameLookup lookup => Lookup(message, lookup),
        NameList list => ValueTask.FromResult<object?>(List(list, message)),
        _ => throw new FosException(FosError.BadRequest, $"the name server does not understand {message.Body?.GetType().Name ?? "null"}"),
    };

    private async ValueTask<object?> Register(Message message, NameRegister request)
    {
        var asker = Limited(message, Allowed(message, request.Name, request.Member));
        NameValidation.Check(request.Name);
        if (request.Member.Capability.IsNone)
            throw new FosException(FosError.BadRequest, $"cannot register {request.Member} under {request.Name}: a member needs a capability");
        // Known as this server's before it commits: a withdrawal of this machine applied in between puts it back.
        var added = registeredHere.Add((request.Name, request.Member));
        try
        {
            await Directory.Submit(DirectoryChange.Add(request.Name, request.Member));
        }
        catch
        {
            if (added) registeredHere.Remove((request.Name, request.Member));
            throw;
        }
        return Bind(request.Name).Record(request.Name, asker);
    }

    private async ValueTask<object?> Unregister(Message message, NameUnregister request)
    {
        var asker = Allowed(message, request.Name, request.Member);
        NameValidation.Check(request.Name);
        if (!names.TryGetValue(request.Name, out var binding) || !binding.Members.Any(m => m.Address == request.Member.Address))
            throw new FosException(FosError.NoSuchName, $"{request.Member} is not a member of {request.Name}");
        await Directory.Submit(DirectoryChange.Remove(request.Name, request.Member));
        return Bind(request.Name).Record(request.Name, asker);
    }

    /// <summary>A process ended, or a machine was lost: every member it had under any name goes, and those who cached the names hear of it.</summary>
    private async ValueTask<object?> Withdraw(Message message, DirectoryChange change)
    {
        message.RequireSystem(ref refusals);
        // This machine withdrawing itself (booting after a restart, or leaving): its names are not put back.
        var self = change.Kind == DirectoryChangeKind.WithdrawMachine && change.Core.Machine == Kernel.Core.Machine && message.From.Machine == Kernel.Core.Machine;
        if (self) withdrawingSelf++;
        try
        {
            await Directory.Submit(change);
        }
        catch
        {
            if (self) withdrawingSelf--;
            throw;
        }
        return Ack.Instance;
    }

    /// <summary>A change the directory committed: this replica takes it, and kernels here that cached the name hear of it.</summary>
    public void Applied(DirectoryChange change)
    {
        switch (change.Kind)
        {
            case DirectoryChangeKind.Add:
                var binding = Bind(change.Name);
                binding.Members.RemoveAll(m => m.Address == change.Member.Address); // re-registering replaces (e.g. after a revoke)
                binding.Members.Add(change.Member);
                Changed(change.Name, binding);
                break;
            case DirectoryChangeKind.Remove:
                registeredHere.RemoveWhere(r => r.Name == change.Name && r.Member.Address == change.Member.Address);
                if (names.TryGetValue(change.Name, out var from) && from.Members.RemoveAll(m => m.Address == change.Member.Address) > 0)
                    Changed(change.Name, from);
                break;
            case DirectoryChangeKind.WithdrawCore:
                registeredHere.RemoveWhere(r => r.Member.Address.CoreId == change.Core);
                foreach (var (name, held) in names)
                    if (held.Members.RemoveAll(m => m.Address.CoreId == change.Core) > 0) Changed(name, held);
                break;
            case DirectoryChangeKind.WithdrawMachine:
                foreach (var (name, held) in names)
                    if (held.Members.RemoveAll(m => m.Address.Machine == change.Core.Machine) > 0) Changed(name, held);
                if (change.Core.Machine != Kernel.Core.Machine) break;
                if (withdrawingSelf > 0)
                {
                    // This machine withdrew itself (its names from before a restart, or all of them as it leaves).
                    withdrawingSelf--;
                    registeredHere.Clear();
                }
                else
                {
                    // The others took this machine for lost (it was cut off from them) while it ran on:
                    // the servers registered here since it started are still here, so their names go back.
                    foreach (var (name, member) in registeredHere.ToList()) _ = Reinstate(name, member);
                }
                break;
        }
    }

    /// <summary>
    /// An application process changes only names under <see cref="ProcessNames.Prefix"/>, and only
    /// with members on its own core: it cannot take over a system name or withdraw someone else.
    /// </summary>
    private CoreId Allowed(Message message, string name, Endpoint member)
    {
        var asker = message.From.CoreId;
        if (!message.FromProcess) return asker;
        if (!name.StartsWith(ProcessNames.Prefix, StringComparison.Ordinal))
        {
            refusals++;
            throw new FosException(FosError.CapabilityRefused,
                $"{asker} may not change '{name}': an application's names live under {ProcessNames.Prefix}");
        }
        if (member.Address.CoreId != asker)
        {
            refusals++;
            throw new FosException(FosError.CapabilityRefused,
                $"{asker} may not register or withdraw {member.Address}: an application names only its own mailboxes");
        }
        return asker;
    }

    /// <summary>The most members a process may have under names at once: a name server's memory is not its to fill.</summary>
    public const int MaxNamesPerProcess = 256;

    private CoreId Limited(Message message, CoreId asker)
    {
        if (!message.FromProcess) return asker;
        var held = names.Values.Sum(b => b.Members.Count(m => m.Address.CoreId == asker));
        if (held < MaxNamesPerProcess) return asker;
        refusals++;
        throw new FosException(FosError.ServiceError,
            $"ENOSPC: {asker} already has {held} members under names, the most a process may ({MaxNamesPerProcess}); withdraw one first", "ENOSPC");
    }

    private async Task Reinstate(string name, Endpoint member)
    {
        try
        {
            await Directory.Submit(DirectoryChange.Add(name, member));
        }
        catch (FosException)
        {
            // Still cut off from the majority: the next withdrawal it hears of brings it back here.
        }
    }

    /// <summary>Requests refused because their sender may not make them.</summary>
    public long Refusals => refusals;

    /// <summary>
    /// The members of a name, from this replica; a name with none here waits for the replica to
    /// catch up with the cluster first (a read barrier), so a name registered anywhere before the
    /// lookup is found. A replica that cannot reach a majority answers with what it has.
    /// </summary>
    private async ValueTask<object?> Lookup(Message message, NameLookup request)
    {
        NameValidation.Check(request.Name);
        if (WellKnownNames.IsFleetName(request.Name)) message.RequireSystem(ref refusals);
        if (!names.TryGetValue(request.Name, out var known) || known.Members.Count == 0)
        {
            try
            {
                await Directory.Sync();
            }
            catch (FosException)
            {
                // Cut off: what this replica knows is all there is to say.
            }
        }
        var binding = Bind(request.Name);
        if (request.Subscriber is { } subscriber) binding.Subscribers.Add(subscriber);
        return binding.Record(request.Name, request.Asker);
    }

    /// <summary>Every name under a prefix that has members; an application does not see the fleets' own names.</summary>
    private NameListing List(NameList request, Message message) =>
        new([.. names.Where(n => n.Key.StartsWith(request.Prefix, StringComparison.Ordinal) && n.Value.Members.Count > 0
                && !(message.FromProcess && WellKnownNames.IsFleetName(n.Key)))
            .OrderBy(n => n.Key, StringComparer.Ordinal)
            .Select(n => n.Value.Record(n.Key, message.From.CoreId))]);

    private Binding Bind(string name)
    {
        if (!names.TryGetValue(name, out var binding))
            names.Add(name, binding = new Binding());
        return binding;
    }

    /// <summary>A rebind: a new version, and every kernel that cached the name is told to drop it.</summary>
    private void Changed(string name, Binding binding)
    {
        binding.Version = ++version;
        var notice = new NameChanged(name, binding.Version);
        foreach (var subscriber in binding.Subscribers)
        {
            try
            {
                Kernel.Send(subscriber, notice);
            }
            catch (FosException)
            {
                // A core we cannot reach keeps a stale entry until a call to a gone member fails; its kernel
                // then forgets the name and asks again, which subscribes it anew.
            }
        }
        binding.Subscribers.Clear(); // told once; they re-subscribe on their next lookup
    }

    private sealed class Binding
    {
        public long Version;
        public List<Endpoint> Members { get; } = [];
        public HashSet<Endpoint> Subscribers { get; } = [];

        public NameRecord Record(string name, CoreId asker) => new(name, Version, Nearness.Sort(Members, asker));
    }
}
