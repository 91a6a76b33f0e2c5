using System.Diagnostics;

namespace Fos.Runtime.Processes;

/// <summary>
/// The walls around an application process, built with bubblewrap (the sandbox Flatpak uses): a
/// user namespace in which it keeps the user's id (so it reads its own files, wherever they are)
/// but holds no capability, a mount namespace that shows it the system's programs and
/// libraries read-only, the fos host and its own directory read-only, a private /tmp and /dev, and
/// nothing else of the host's files; a network namespace with no interfaces; a PID namespace in
/// which it sees no other process; a new session, so it cannot push input into the node's
/// terminal; and death with the machine. Where bubblewrap is missing or cannot make namespaces
/// here, <see cref="Probe"/> says so and applications run without the walls.
/// </summary>
public sealed record Sandbox(string? Bwrap, string? Unavailable)
{
    public bool Available => Bwrap is not null;

    /// <summary>Looks for bubblewrap and tries it once (a host may forbid the namespaces it needs).</summary>
    public static Sandbox Probe()
    {
        var bwrap = new[] { "/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap" }.FirstOrDefault(File.Exists);
        if (bwrap is null)
            return new(null, "bubblewrap is not installed (apt install bubblewrap): applications run without a sandbox, able to write host files and use the network");
        try
        {
            var probe = new ProcessStartInfo(bwrap) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var arg in Walls([], probe: true)) probe.ArgumentList.Add(arg);
            probe.ArgumentList.Add("/usr/bin/true");
            using var process = Process.Start(probe)!;
            var error = process.StandardError.ReadToEnd();
            if (!process.WaitForExit(10_000))
            {
                process.Kill(entireProcessTree: true);
                return new(null, "bubblewrap did not start a sandbox within 10 s: applications run without one");
            }
            return process.ExitCode == 0 ? new(bwrap, null)
                : new(null, $"bubblewrap cannot make a sandbox here ({error.Trim()}): applications run without one");
        }
        catch (Exception ex) when (ex is IOException or System.ComponentModel.Win32Exception)
        {
            return new(null, $"bubblewrap failed to start ({ex.Message}): applications run without a sandbox");
        }
    }

    /// <summary>
    /// The command that runs <paramref name="command"/> inside the walls, seeing <paramref name="readOnly"/>
    /// directories too, with only <paramref name="environment"/> (and a minimal PATH and HOME) in its environment.
    /// </summary>
    public IReadOnlyList<string> Wrap(IEnumerable<string> readOnly, IReadOnlyDictionary<string, string> environment, IReadOnlyList<string> command) =>
        Bwrap is null ? command : [Bwrap, .. Walls(readOnly), .. environment.SelectMany(e => new[] { "--setenv", e.Key, e.Value }), "--", .. command];

    /// <summary>
    /// Ends a host and every process below it with SIGKILL. Ending bubblewrap alone is not enough:
    /// its sandboxed child waits for it to set up the child's user namespace before the child
    /// asks to die with its parent, so a host ended while it starts would leave that child waiting
    /// for ever, holding the process's channel.
    /// </summary>
    internal static void End(Process host)
    {
        try
        {
            host.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It had ended.
        }
        catch (AggregateException)
        {
            // One below it ended between the walk and the kill.
        }
    }

    private static IEnumerable<string> Walls(IEnumerable<string> readOnly, bool probe = false)
    {
        yield return "--ro-bind";
        yield return "/usr";
        yield return "/usr";
        foreach (var link in new[] { "lib", "lib64", "bin", "sbin" })
        {
            if (!Directory.Exists("/" + link)) continue;
            var target = new FileInfo("/" + link).LinkTarget;
            if (target is null)
            {
                yield return "--ro-bind";
                yield return "/" + link;
            }
            else yield return "--symlink";
            yield return target ?? "/" + link;
            yield return "/" + link;
        }
        yield return "--ro-bind-try";
        yield return "/etc/ssl";
        yield return "/etc/ssl";
        // The private /tmp, /proc and /dev first: the directories bound after them may lie below
        // them (an application under /tmp), and a later mount would hide them.
        foreach (var arg in new[] { "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp" })
            yield return arg;
        foreach (var directory in readOnly.Distinct(StringComparer.Ordinal))
        {
            yield return "--ro-bind";
            yield return directory;
            yield return directory;
        }
        foreach (var arg in new[]
        {
            "--unshare-all",
            "--die-with-parent", "--new-session", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin",
            "--setenv", "HOME", "/tmp",
        })
            yield return arg;
        if (probe) yield return "--";
    }
}
