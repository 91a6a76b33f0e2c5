namespace Fos.Kernel.Processes;

/// <summary>
/// The process a piece of application code belongs to, found through an AsyncLocal that flows
/// with its awaits. The system-call library counts calls with it and refuses them once the
/// process was killed; its output and error go where the host that runs the process says (the
/// process's own standard streams, or the machine's capture for a program run inside it).
/// </summary>
public sealed class ProcessContext(long pid, string name, string[] args, TextWriter output, TextWriter error, TextReader? input = null)
{
    private static readonly AsyncLocal<ProcessContext?> current = new();
    private static ProcessContext? processWide;

    /// <summary>
    /// The process of the code running now: the process itself when it has a Linux process of its
    /// own (<see cref="ProcessWide"/>), else the one that flows with the awaits of code the machine runs.
    /// </summary>
    public static ProcessContext? Current
    {
        get => processWide ?? current.Value;
        set
        {
            if (processWide is null) current.Value = value;
        }
    }

    /// <summary>
    /// Set once by an application host: every line of code in its Linux process is this process's,
    /// so no AsyncLocal needs to flow with each await (a cost on every system call).
    /// </summary>
    public static ProcessContext? ProcessWide
    {
        get => processWide;
        set => processWide = value;
    }

    public long Pid { get; } = pid;

    public string Name { get; } = name;

    public string[] Args { get; } = args;

    /// <summary>The process's standard input (empty for a program the machine runs inside itself).</summary>
    public TextReader In { get; } = input ?? TextReader.Null;

    /// <summary>The process's standard output and error.</summary>
    public TextWriter Out { get; } = output;

    public TextWriter Error { get; } = error;

    /// <summary>Set when the process is killed: its next system call fails instead of running.</summary>
    public bool Killed { get; set; }

    public long SystemCalls;
}
