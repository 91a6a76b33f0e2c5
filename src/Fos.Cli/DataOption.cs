using System.CommandLine;
using Fos.Cli.Node;

namespace Fos.Cli;

/// <summary>The --data option every node command shares: which node (by its data directory).</summary>
internal static class DataOption
{
    public static Option<string> Create()
    {
        var data = new Option<string>("--data")
        {
            Description = "the node's data directory (default $FOS_DATA, else ~/.local/share/fos)",
            DefaultValueFactory = _ => NodeProtocol.DefaultDataDirectory,
        };
        data.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is not { Length: > 0 } path || path.Contains('\0', StringComparison.Ordinal))
                r.AddError("--data must name a directory");
        });
        return data;
    }
}
