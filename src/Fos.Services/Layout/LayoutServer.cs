using Fos.Kernel;
using Fos.Protocols.Layout;

namespace Fos.Services.Layout;

/// <summary>
/// The layout service (<c>/sys/layout</c>): space multiplexing as a placement problem. System
/// servers keep their cores; each application goes to the application core running the fewest
/// applications (the lowest-numbered on a tie), so applications share a core only when there are
/// more of them than cores. On a machine too small to keep them apart (one core), applications
/// share the system's cores, and the layout says so.
/// </summary>
public sealed class LayoutServer : Server
{
    public static readonly ServerImage Image = new("layout", () => new LayoutServer());

    private CoreId[] system = [];
    private readonly SortedDictionary<CoreId, int> applications = [];

    private long refusals;

    /// <summary>Requests refused because an application sent what only the system may (configure, place, release).</summary>
    public long Refusals => refusals;

    protected override ValueTask<object?> Handle(Message message)
    {
        if (message.Body is not LayoutTable) message.RequireSystem(ref refusals);
        return Serve(message);
    }

    private ValueTask<object?> Serve(Message message) => ValueTask.FromResult<object?>(message.Body switch
    {
        LayoutConfigure c => Configure(c),
        LayoutPlace => Place(),
        LayoutRelease r => Release(r.Core),
        LayoutTable => Table(),
        _ => throw new FosException(FosError.BadRequest, $"the layout service does not understand {message.Body?.GetType().Name ?? "null"}"),
    });

    private Ack Configure(LayoutConfigure configure)
    {
        system = configure.SystemCores;
        applications.Clear();
        var appCores = configure.ApplicationCores.Length > 0 ? configure.ApplicationCores : configure.SystemCores;
        foreach (var core in appCores) applications[core] = 0;
        return Ack.Instance;
    }

    private CoreId Place()
    {
        if (applications.Count == 0) throw new FosException(FosError.ServiceError, "the layout has no cores yet (still booting)", "EBUSY");
        var core = applications.OrderBy(a => a.Value).First().Key;
        applications[core]++;
        return core;
    }

    private Ack Release(CoreId core)
    {
        if (applications.TryGetValue(core, out var count) && count > 0) applications[core] = count - 1;
        return Ack.Instance;
    }

    private LayoutCore[] Table() =>
        [.. system.Union(applications.Keys).Order().Select(c => new LayoutCore(c,
            system.Contains(c) ? (applications.ContainsKey(c) ? "system+applications" : "system") : "applications",
            applications.GetValueOrDefault(c)))];
}
