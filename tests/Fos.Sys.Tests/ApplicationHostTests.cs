using System.Diagnostics;

namespace Fos.Sys.Tests;

/// <summary>The application host started by someone other than its machine: it says what it is and exits.</summary>
public sealed class ApplicationHostTests
{
    private static Task<(int Code, string Error)> Host(params string[] args) => Host([], args);

    private static async Task<(int Code, string Error)> Host(byte[] input, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Fos.AppHost.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        await process.StandardInput.BaseStream.WriteAsync(input);
        process.StandardInput.Close();
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

    [Fact]
    public async Task A_warm_host_started_by_hand_ends_quietly_without_a_program_and_refuses_garbage_for_one()
    {
        var (code, error) = await Host([], "--warm", "1");
        Assert.Equal((0, ""), (code, error));
        (code, error) = await Host([0xff, 0xff, 0xff, 0x7f, 1, 2, 3], "--warm", "1");
        Assert.Equal(2, code);
        Assert.Contains("started by a fos machine", error);
    }
}
