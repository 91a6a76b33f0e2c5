using System.CommandLine;
using System.Globalization;
using Fos.Cli.Node;
using Fos.Runtime.Network;

namespace Fos.Cli;

/// <summary>
/// <c>fos cluster token</c>: on the machine that made a cluster, prints a token another machine
/// joins with (<c>fos boot --join ADDRESS --token TOKEN --listen HOST:PORT --data DIR</c>). The
/// token is made from the cluster's join key alone: the node need not be running.
/// </summary>
internal static class ClusterCommand
{
    public static Command Create()
    {
        var data = DataOption.Create();
        var ttl = new Option<string>("--ttl")
        {
            Description = "how long the token lets machines join: a number and s, m, h or d (default 24h)",
            DefaultValueFactory = _ => "24h",
        };
        ttl.Validators.Add(r =>
        {
            if (Duration(r.GetValueOrDefault<string>()) is null) r.AddError("--ttl must be a number and s, m, h or d (for example 30m or 7d), at most 365d");
        });
        var token = new Command("token", "Print a token that lets a machine join this cluster") { data, ttl };
        token.SetAction(result =>
        {
            var directory = ClusterSetup.Directory(Path.GetFullPath(result.GetValue(data)!));
            try
            {
                using var identity = ClusterIdentity.Load(directory);
                var authority = identity is null ? null : ClusterAuthority.Open(directory, identity);
                if (authority is null)
                {
                    Console.Error.WriteLine(identity is null
                        ? $"fos cluster token: {directory} holds no cluster: make one with fos boot --listen HOST:PORT --data DIR"
                        : $"fos cluster token: this is m{identity.Machine}; only the machine that made the cluster (m1) issues tokens");
                    return 1;
                }
                var seed = authority.Members.All.FirstOrDefault(m => m.Machine == identity!.Machine)?.Address ?? "HOST:PORT";
                Console.WriteLine(authority.Token(Duration(result.GetValue(ttl))!.Value));
                Console.Error.WriteLine($"join with: fos boot --join {seed} --token TOKEN --listen HOST:PORT --data DIR");
                return 0;
            }
            catch (InvalidDataException ex)
            {
                Console.Error.WriteLine($"fos cluster token: {ex.Message}");
                return 1;
            }
        });
        return new Command("cluster", "The cluster this machine belongs to") { token };
    }

    /// <summary>30s, 15m, 24h, 7d; null if it is none of those or longer than a year.</summary>
    private static TimeSpan? Duration(string? text)
    {
        if (text is not { Length: >= 2 }) return null;
        if (!long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number <= 0) return null;
        TimeSpan? span = text[^1] switch
        {
            's' => TimeSpan.FromSeconds(Math.Min(number, 1L << 40)),
            'm' => TimeSpan.FromMinutes(Math.Min(number, 1L << 30)),
            'h' => TimeSpan.FromHours(Math.Min(number, 1L << 25)),
            'd' => TimeSpan.FromDays(Math.Min(number, 1L << 20)),
            _ => null,
        };
        return span is { } s && s <= TimeSpan.FromDays(365) ? s : null;
    }
}
