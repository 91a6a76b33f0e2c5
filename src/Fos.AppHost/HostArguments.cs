using System.Globalization;

namespace Fos.AppHost;

/// <summary>
/// What the machine tells the host on its command line: the fds it inherited (channel, its own
/// wake-up, every machine core's wake-up), the CPU to run on, how long to poll before parking, the
/// memory the process may have, the program's name, and after <c>--</c> the program's .dll and arguments. Nothing secret is here:
/// capabilities travel in the channel.
/// </summary>
internal sealed record HostArguments(int Channel, int Wake, int Fds, int[] CoreWakes, int Cpu, TimeSpan SpinBeforePark, long Memory, string Name, string Program, string[] Arguments)
{
    public static HostArguments Parse(string[] args)
    {
        var split = Array.IndexOf(args, "--");
        if (split < 0 || split == args.Length - 1) throw new FormatException("expected options, then -- and the program's .dll");
        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < split; i += 2)
        {
            if (i + 1 >= split || !args[i].StartsWith("--", StringComparison.Ordinal)) throw new FormatException($"'{args[i]}' needs a value");
            named[args[i][2..]] = args[i + 1];
        }
        string Need(string name) => named.TryGetValue(name, out var value) ? value : throw new FormatException($"--{name} is missing");
        int Number(string text) => int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n
            : throw new FormatException($"'{text}' is not a number");
        return new HostArguments(
            Number(Need("channel")),
            Number(Need("wake")),
            Number(Need("fds")),
            [.. Need("core-wakes").Split(',').Select(Number)],
            named.TryGetValue("cpu", out var cpu) ? Number(cpu) : -1,
            TimeSpan.FromMicroseconds(named.TryGetValue("spin-us", out var spin) ? Number(spin) : 50),
            named.TryGetValue("memory", out var memory) && long.TryParse(memory, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) ? bytes : 0,
            named.TryGetValue("name", out var name) ? name : Path.GetFileNameWithoutExtension(args[split + 1]),
            args[split + 1],
            args[(split + 2)..]);
    }
}
