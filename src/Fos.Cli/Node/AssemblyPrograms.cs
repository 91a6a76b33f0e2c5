using System.Reflection;
using System.Runtime.Loader;
using Fos.Services.Processes;

namespace Fos.Cli.Node;

/// <summary>
/// Turns a .NET assembly into a program fos can run: its entry point, loaded in a context of its
/// own (so two programs may bring different versions of a library) that shares fos's own
/// assemblies with the node, so the program's Fos.Sys is the node's. The entry point may return
/// int, Task&lt;int&gt;, Task or nothing; it runs on a fos core, so it must not block.
/// </summary>
internal static class AssemblyPrograms
{
    public static AppProgram Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no such file: {path}");
        var context = new ProgramContext(path);
        Assembly assembly;
        try
        {
            assembly = context.LoadFromAssemblyPath(path);
        }
        catch (BadImageFormatException)
        {
            throw new BadImageFormatException($"{path} is not a .NET assembly; fos runs applications built with `dotnet build` (their .dll)");
        }
        var entry = AsyncMain(assembly.EntryPoint
            ?? throw new BadImageFormatException($"{path} has no entry point (Main); build it as an application (OutputType Exe)"));
        var takesArgs = entry.GetParameters().Length == 1;
        var name = Path.GetFileNameWithoutExtension(path);
        return new AppProgram(name, async args =>
        {
            object? result;
            try
            {
                result = entry.Invoke(null, takesArgs ? [args] : []);
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
        });
    }

    /// <summary>
    /// For an async Main the compiler emits a synchronous entry point that blocks on the real one,
    /// which would stall a fos core; the real one ("Main", or "&lt;Main&gt;$" for top-level statements)
    /// is what fos calls.
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

    private sealed class ProgramContext(string path) : AssemblyLoadContext($"fos app {Path.GetFileName(path)}", isCollectible: true)
    {
        private readonly AssemblyDependencyResolver resolver = new(path);

        protected override Assembly? Load(AssemblyName name)
        {
            // fos's own assemblies come from the node, so types like FosFile are the same on both sides.
            if (name.Name is { } n && n.StartsWith("Fos.", StringComparison.Ordinal)) return null;
            var located = resolver.ResolveAssemblyToPath(name);
            return located is null ? null : LoadFromAssemblyPath(located);
        }
    }
}
