using System.CommandLine;
using Fos.Cli.Node;

namespace Fos.Cli;

/// <summary>The --data option every node command shares: which node (by its data directory).</summary>
internal static class DataOption
{
    public static Option<string> Create() => new("--data")
    {
        Description = "the node's data directory (default $FOS_DATA, else ~/.local/share/fos)",
        DefaultValueFactory = _ => NodeProtocol.DefaultDataDirectory,
    };
}
