using Fos.Kernel;
using Fos.Kernel.Naming;

namespace Fos.Services.Naming;

/// <summary>
/// A member of the naming fleet (<c>/sys/name</c>): the authority for which servers serve a name.
/// It answers lookups nearest member first for the asking core, and remembers which kernels cache
/// each name so it can tell them when the name is rebound. This is the first member of the naming
/// fleet; the cluster's members extend it across machines.
/// </summary>
public sealed class NameServer : Server
{
    public static readonly ServerImage Image = new("name-server", () => new NameServer());

    private readonly Dictionary<string, Binding> names = new(StringComparer.Ordinal);
    private long version;
    private long refusals;

    protected override ValueTask<object?> Handle(Message message) => ValueTask.FromResult<object?>(message.Body switch
    {
        NameRegister register => Register(register, Limited(message, Allowed(message, register.Name, register.Member))),
        NameUnregister unregister => Unregister(unregister, Allowed(message, unregister.Name, unregister.Member)),
        NameWithdrawCore withdraw => Withdraw(message, withdraw.Core),
        NameLookup lookup => Lookup(lookup),
        NameList list => List(list, message.From.CoreId),
        _ => throw new FosException(FosError.BadRequest, $"the name server does not understand {message.Body?.GetType().Name ?? "null"}"),
    });

    private NameRecord Register(NameRegister request, CoreId asker)
    {
        NameValidation.Check(request.Name);
        if (request.Member.Capability.IsNone)
            throw new FosException(FosError.BadRequest, $"cannot register {request.Member} under {request.Name}: a member needs a capability");
        var binding = Bind(request.Name);
        binding.Members.RemoveAll(m => m.Address == request.Member.Address); // re-registering replaces (e.g. after a revoke)
        binding.Members.Add(request.Member);
        Changed(request.Name, binding);
        return binding.Record(request.Name, asker);
    }

    private NameRecord Unregister(NameUnregister request, CoreId asker)
    {
        NameValidation.Check(request.Name);
        if (!names.TryGetValue(request.Name, out var binding) || binding.Members.RemoveAll(m => m.Address == request.Member.Address) == 0)
            throw new FosException(FosError.NoSuchName, $"{request.Member} is not a member of {request.Name}");
        Changed(request.Name, binding);
        return binding.Record(request.Name, asker);
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

    /// <summary>A process ended: every member it had under any name goes, and those who cached the names hear of it.</summary>
    private Ack Withdraw(Message message, CoreId core)
    {
        message.RequireSystem(ref refusals);
        foreach (var (name, binding) in names)
            if (binding.Members.RemoveAll(m => m.Address.CoreId == core) > 0)
                Changed(name, binding);
        return Ack.Instance;
    }

    /// <summary>Requests refused because their sender may not make them.</summary>
    public long Refusals => refusals;

    private NameRecord Lookup(NameLookup request)
    {
        NameValidation.Check(request.Name);
        var binding = Bind(request.Name);
        if (request.Subscriber is { } subscriber) binding.Subscribers.Add(subscriber);
        return binding.Record(request.Name, request.Asker);
    }

    private NameListing List(NameList request, CoreId asker) =>
        new([.. names.Where(n => n.Key.StartsWith(request.Prefix, StringComparison.Ordinal) && n.Value.Members.Count > 0)
            .OrderBy(n => n.Key, StringComparer.Ordinal)
            .Select(n => n.Value.Record(n.Key, asker))]);

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
