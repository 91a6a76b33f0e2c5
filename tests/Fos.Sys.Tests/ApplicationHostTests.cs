using System.Diagnostics;

namespace Fos.Sys.Tests;

/// <summary>The application host started by someone other than its machine: it says what it is and exits.</summary>
public sealed class ApplicationHostTests
{
    private static async Task<(int Code, string Error)> Host(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Fos.AppHost.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cancel.Token);
        return (process.ExitCode, await error);
    }

    [Theory]
    [InlineData]
    [InlineData("app.dll")]
    [InlineData("--channel", "x", "--", "app.dll")]
    [InlineData("--channel", "3", "--wake", "4", "--", "app.dll")]
    public async Task Wrong_arguments_are_refused_with_a_clear_line(params string[] args)
    {
        var (code, error) = await Host(args);
        Assert.Equal(2, code);
        Assert.Contains("started by a fos machine", error);
    }
}
