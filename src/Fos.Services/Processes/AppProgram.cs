using Fos.Kernel;

namespace Fos.Services.Processes;

// A program travels as a delegate, so these two stay with the servers that run programs in this
// process: they never cross a process boundary and are not part of the wire protocol.

/// <summary>
/// A program fos can run: a name and an entry point. The host side makes one from an assembly
/// (<c>fos run app.dll</c>); tests and the simulator make them from code. The entry point runs on
/// a fos core and must be asynchronous all the way: a blocking wait would stall the core.
/// </summary>
public sealed record AppProgram(string Name, Func<string[], Task<int>> Main)
{
    public override string ToString() => Name;
}

/// <summary>Starts a program → the pid (long). <paramref name="Core"/>: where, or null to let the layout choose.</summary>
public sealed record ProcSpawn(AppProgram Program, string[] Args, CoreId? Core = null);
