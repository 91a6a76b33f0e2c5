using System.Text;

namespace Fos.Services.Processes;

/// <summary>
/// The process a piece of application code belongs to, found through an AsyncLocal that flows
/// with its awaits (several processes may share a core). The system-call library tags handles
/// with the pid, counts calls, and refuses calls once the process was killed.
/// </summary>
public sealed class ProcessContext(long pid, string name, string[] args)
{
    private static readonly AsyncLocal<ProcessContext?> current = new();

    public static ProcessContext? Current
    {
        get => current.Value;
        internal set => current.Value = value;
    }

    public long Pid { get; } = pid;

    public string Name { get; } = name;

    public string[] Args { get; } = args;

    /// <summary>What the process wrote to its standard output and error.</summary>
    public StringWriter Out { get; } = new(new StringBuilder());

    public StringWriter Error { get; } = new(new StringBuilder());

    public bool Killed { get; internal set; }

    /// <summary>Mailboxes the process opened, closed when it ends.</summary>
    public List<Fos.Kernel.Endpoint> Mailboxes { get; } = [];

    /// <summary>Names the process registered its mailboxes under, withdrawn when it ends.</summary>
    public List<(string Name, Fos.Kernel.Endpoint Member)> Names { get; } = [];

    public long SystemCalls;
}
