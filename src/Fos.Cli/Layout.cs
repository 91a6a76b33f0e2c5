using Fos.Runtime;
using Fos.Services;
using Spectre.Console;

namespace Fos.Cli;

/// <summary>Prints which server runs on which core, and how the cores sit on the host's CPUs.</summary>
internal static class Layout
{
    public static void Print(Machine machine, IReadOnlyList<LayoutRow> rows)
    {
        var mode = machine.Oversubscribed
            ? $"oversubscribed: {machine.CoreCount} fos cores on {machine.HostCpus} CPUs, cores float and park when idle"
            : machine.PinsCores ? $"one fos core per CPU ({machine.HostCpus} CPUs), pinned" : "unpinned";
        AnsiConsole.MarkupLine($"[bold]fos machine m{machine.Options.MachineId}[/] — {Markup.Escape(mode)}; idle cores spin {machine.SpinBeforePark.TotalMicroseconds:0} µs before parking");
        var table = new Table().AddColumns("core", "cpu", "server", "mailbox", "shares core with");
        var pinned = machine.PinnedCpus;
        foreach (var core in machine.Cores)
        {
            var here = rows.Where(r => r.Core == core).ToList();
            var cpu = pinned[core.Core] is { } c ? c.ToString() : "-";
            if (here.Count == 0) table.AddRow(core.ToString(), cpu, "[grey](free)[/]", "", "");
            foreach (var row in here)
                table.AddRow(core.ToString(), cpu, Markup.Escape(row.Server), row.Endpoint.Address.ToString(),
                    here.Count > 1 ? Markup.Escape(string.Join(", ", here.Where(o => o != row).Select(o => o.Server))) + " (time-multiplexed)" : "");
        }
        AnsiConsole.Write(table);
    }
}
