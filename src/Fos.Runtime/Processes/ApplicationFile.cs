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
            if (TargetVersion(pe.GetMetadataReader()) is { } wanted && wanted > Environment.Version)
                throw Refused("ENOEXEC", $"{path} was built for .NET {wanted.Major}.{wanted.Minor}, and fos runs on .NET {Environment.Version.Major}.{Environment.Version.Minor}: build it for net{Environment.Version.Major}.0 or older");
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

    /// <summary>The .NET version an assembly was built for, from its TargetFramework attribute (".NETCoreApp,Version=v10.0").</summary>
    private static Version? TargetVersion(MetadataReader metadata)
    {
        foreach (var handle in metadata.GetAssemblyDefinition().GetCustomAttributes())
        {
            var attribute = metadata.GetCustomAttribute(handle);
            if (attribute.Constructor.Kind != HandleKind.MemberReference) continue;
            var constructor = metadata.GetMemberReference((MemberReferenceHandle)attribute.Constructor);
            if (constructor.Parent.Kind != HandleKind.TypeReference) continue;
            var type = metadata.GetTypeReference((TypeReferenceHandle)constructor.Parent);
            if (metadata.GetString(type.Name) != "TargetFrameworkAttribute") continue;
            var blob = metadata.GetBlobReader(attribute.Value);
            if (blob.ReadUInt16() != 1) return null; // the prolog of a custom attribute's value
            return ParseTargetFramework(blob.ReadSerializedString());
        }
        return null;
    }

    /// <summary>".NETCoreApp,Version=v10.0" → 10.0; anything else (another framework, no version) → null.</summary>
    internal static Version? ParseTargetFramework(string? moniker)
    {
        const string prefix = ".NETCoreApp,Version=v";
        return moniker is not null && moniker.StartsWith(prefix, StringComparison.Ordinal) && Version.TryParse(moniker[prefix.Length..], out var version)
            ? version
            : null;
    }
}
