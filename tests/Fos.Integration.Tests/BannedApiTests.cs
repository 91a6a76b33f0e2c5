using System.Diagnostics;

namespace Fos.Integration.Tests;

/// <summary>
/// Server code may use only the kernel API, and the build is what holds it to that: a server
/// project that touches a thread, the host clock or a file does not compile. Each test builds a
/// small server project inside the repository (so it gets the repository's build rules) with the
/// real SDK.
/// </summary>
public class BannedApiTests
{
    private const string Allowed = """
        using Fos.Kernel;
        public sealed class Probe : Server
        {
            protected override async ValueTask<object?> Handle(Message message)
            {
                await Kernel.Delay(TimeSpan.FromMilliseconds(1));
                return Kernel.Now;
            }
        }
        """;

    [Fact]
    public async Task A_server_that_uses_only_the_kernel_builds()
    {
        var (code, output) = await BuildServer(Allowed);
        Assert.True(code == 0, output);
    }

    [Theory]
    [InlineData("System.Threading.Thread.Sleep(1);", "Thread")]
    [InlineData("_ = System.DateTime.UtcNow;", "DateTime.UtcNow")]
    [InlineData("await System.Threading.Tasks.Task.Delay(1);", "Task.Delay")]
    [InlineData("_ = System.IO.File.ReadAllText(\"/etc/hostname\");", "File")]
    public async Task A_server_that_reaches_past_the_kernel_fails_to_build_and_says_why(string statement, string api)
    {
        var source = Allowed.Replace("return Kernel.Now;", statement + "\n        return Kernel.Now;", StringComparison.Ordinal);
        var (code, output) = await BuildServer(source);
        Assert.NotEqual(0, code);
        Assert.Contains("RS0030", output, StringComparison.Ordinal);
        Assert.Contains(api, output, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output)> BuildServer(string source)
    {
        var root = RepositoryRoot();
        var dir = Path.Combine(root, "TestResults", "banned-api-probe", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var kernel = Path.Combine(AppContext.BaseDirectory, "Fos.Kernel.dll");
            await File.WriteAllTextAsync(Path.Combine(dir, "Probe.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <FosServerCode>true</FosServerCode>
                  </PropertyGroup>
                  <ItemGroup>
                    <Reference Include="Fos.Kernel" HintPath="{kernel}" />
                  </ItemGroup>
                </Project>
                """);
            await File.WriteAllTextAsync(Path.Combine(dir, "Probe.cs"), source);
            var start = new ProcessStartInfo("dotnet", ["build", "--nologo", "-v", "q", dir])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.Environment["DOTNET_NOLOGO"] = "1";
            using var build = Process.Start(start)!;
            var stdout = build.StandardOutput.ReadToEndAsync();
            var stderr = build.StandardError.ReadToEndAsync();
            using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await build.WaitForExitAsync(cancel.Token);
            return (build.ExitCode, await stdout + await stderr);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Fos.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Fos.sln above {AppContext.BaseDirectory}");
    }
}
