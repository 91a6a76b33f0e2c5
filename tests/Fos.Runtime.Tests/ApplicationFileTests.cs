using Fos.Kernel;
using Fos.Runtime.Processes;

namespace Fos.Runtime.Tests;

/// <summary>What the machine checks of a file before it makes a process for it: reading metadata only.</summary>
public sealed class ApplicationFileTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("fos-appfile-").FullName;

    [Theory]
    [InlineData(".NETCoreApp,Version=v10.0", "10.0")]
    [InlineData(".NETCoreApp,Version=v11.0", "11.0")]
    [InlineData(".NETStandard,Version=v2.0", null)]
    [InlineData(".NETCoreApp,Version=vX", null)]
    [InlineData(null, null)]
    public void The_target_framework_is_read_from_its_moniker(string? moniker, string? version) =>
        Assert.Equal(version is null ? null : Version.Parse(version), ApplicationFile.ParseTargetFramework(moniker));

    [Fact]
    public void A_program_built_for_this_runtime_passes_and_anything_else_is_refused_with_its_errno()
    {
        ApplicationFile.Check(typeof(ApplicationFileTests).Assembly.Location); // a test project is an application: it has an entry point
        var text = Path.Combine(directory, "text.dll");
        File.WriteAllText(text, "plain text");
        Assert.Equal("ENOEXEC", Refusal(text));
        Assert.Equal("ENOEXEC", Refusal(typeof(Machine).Assembly.Location)); // a library: no entry point
        Assert.Equal("ENOENT", Refusal(Path.Combine(directory, "missing.dll")));
        Assert.Equal("EISDIR", Refusal(directory));
        Assert.Equal("EINVAL", Refusal("relative.dll"));
    }

    private static string? Refusal(string path) => Assert.Throws<FosException>(() => ApplicationFile.Check(path)).Code;

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
