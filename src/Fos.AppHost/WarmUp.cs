using Fos.Protocols.Wire;
using Fos.Runtime.Processes;

namespace Fos.AppHost;

/// <summary>
/// What a warm host does before it has a program: the work every program's start would otherwise
/// wait for (loading fos's assemblies, making the wire formatters), then the word that it is warm,
/// then the rest of its command line, read from its input.
/// </summary>
internal static class WarmUp
{
    public static string[] ThenWaitForProgram()
    {
        WireCodec.PrepareAll();
        System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(Fos.Sys.FosProcess).TypeHandle);
        using (var output = Console.OpenStandardOutput())
        {
            output.Write(WarmHost.ReadyMarker);
            output.Flush();
        }
        using var input = Console.OpenStandardInput();
        return WarmHost.ReadHandover(input);
    }
}
