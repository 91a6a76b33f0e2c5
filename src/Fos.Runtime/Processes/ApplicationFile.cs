using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Fos.Kernel;

namespace Fos.Runtime.Processes;

/// <summary>
/// Checks, before a process is made for it, that a file is something fos can run: it exists, it
/// is a .NET assembly, and it has an entry point. The check reads metadata only (no code of the
/// application runs in the machine); a wrong file is refused as a shell would, with its errno.
/// </summary>
internal static class ApplicationFile
{
    public static void Check(string path)
    {
        if (!Path.IsPathFullyQualified(path))
            throw Refused("EINVAL", $"'{path}' is not an absolute path to an application's .dll");
        if (Directory.Exists(path)) throw Refused("EISDIR", $"{path} is a directory, not an application's .dll");
        if (!File.Exists(path)) throw Refused("ENOENT", $"{path}: no such file");
        try
        {
            using var file = File.OpenRead(path);
            using var pe = new PEReader(file);
            if (!pe.HasMetadata)
                throw Refused("ENOEXEC", $"{path} is not a .NET assembly; fos runs applications built with `dotnet build` (their .dll)");
            if (pe.PEHeaders.CorHeader is not { } cor || cor.EntryPointTokenOrRelativeVirtualAddress == 0)
                throw Refused("ENOEXEC", $"{path} has no entry point (Main); build it as an application (OutputType Exe)");
            pe.GetMetadataReader();
        }
        catch (BadImageFormatException)
        {
            throw Refused("ENOEXEC", $"{path} is not a .NET assembly; fos runs applications built with `dotnet build` (their .dll)");
        }
        catch (UnauthorizedAccessException)
        {
            throw Refused("EACCES", $"{path}: permission denied");
        }
    }

    private static FosException Refused(string errno, string message) => new(FosError.ServiceError, $"{errno}: {message}", errno);
}
