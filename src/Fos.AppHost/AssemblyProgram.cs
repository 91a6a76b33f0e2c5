using System.Reflection;
using System.Runtime.Loader;

namespace Fos.AppHost;

/// <summary>
/// Turns a .NET assembly into the program a process core runs: its asynchronous entry point, loaded
/// in a context of its own whose fos assemblies are the host's (so the program's Fos.Sys is the one
/// wired to this process's kernel). The entry point may return int, Task&lt;int&gt;, Task or nothing.
/// </summary>
internal static class AssemblyProgram
{
    public static Func<string[], Task<int>> Load(string path)
    {
        var context = new ProgramContext(path);
        Assembly assembly;
        try
        {
            assembly = context.LoadFromAssemblyPath(path);
        }
        catch (BadImageFormatException)
        {
            throw new CannotStart($"{path} is not a .NET assembly; fos runs applications built with `dotnet build` (their .dll)");
        }
        catch (FileNotFoundException)
        {
            throw new CannotStart($"{path}: no such file");
        }
        var entry = assembly.EntryPoint ?? throw new CannotStart($"{path} has no entry point (Main); build it as an application (OutputType Exe)");
        var main = AsyncMain(entry);
        var takesArgs = main.GetParameters().Length == 1;
        return async args =>
        {
            object? result;
            try
            {
                result = main.Invoke(null, takesArgs ? [args] : []);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
                throw;
            }
            switch (result)
            {
                case Task<int> withCode: return await withCode;
                case Task task:
                    await task;
                    return 0;
                case int code: return code;
                default: return 0;
            }
        };
    }

    /// <summary>
    /// For an async Main the compiler emits a synchronous entry point that blocks on the real one,
    /// which would stall the core's loop; the real one ("Main", or "&lt;Main&gt;$" for top-level
    /// statements) is what runs. A program whose Main is synchronous runs as it is, on the loop.
    /// </summary>
    private static MethodInfo AsyncMain(MethodInfo entry)
    {
        if (typeof(Task).IsAssignableFrom(entry.ReturnType)) return entry;
        var parameters = entry.GetParameters().Select(p => p.ParameterType).ToArray();
        return entry.DeclaringType?.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
            .FirstOrDefault(m => m != entry && m.Name is "Main" or "<Main>$" && typeof(Task).IsAssignableFrom(m.ReturnType)
                && m.GetParameters().Select(p => p.ParameterType).SequenceEqual(parameters))
            ?? entry;
    }

    private sealed class ProgramContext(string path) : AssemblyLoadContext($"fos app {Path.GetFileName(path)}")
    {
        private readonly AssemblyDependencyResolver resolver = new(path);

        protected override Assembly? Load(AssemblyName name)
        {
            // fos's own assemblies (and what they bring) come from the host, so the program talks through this process's kernel.
            if (name.Name is { } n && (n.StartsWith("Fos.", StringComparison.Ordinal) || n.StartsWith("MessagePack", StringComparison.Ordinal))) return null;
            var located = resolver.ResolveAssemblyToPath(name);
            return located is null ? null : LoadFromAssemblyPath(located);
        }
    }
}

/// <summary>The program cannot start: said once on stderr, and recorded as the process's failure.</summary>
internal sealed class CannotStart(string message) : Exception(message);
