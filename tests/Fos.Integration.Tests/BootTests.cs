namespace Fos.Integration.Tests;

public sealed class BootTests : IDisposable
{
    private readonly string data = Path.Combine(Path.GetTempPath(), "fos-boot-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task Boot_opens_a_shell_that_runs_what_is_typed_and_stops_at_exit()
    {
        await using var fos = FosCommand.StartWithInput("mkdir /typed\nls /\nfleets\nexit\n", "boot", "--data", data);
        Assert.Equal(0, await fos.WaitForExit(FosCommand.Deadline));
        var output = fos.Stdout;
        Assert.Contains(output, l => l.Contains("fos is up", StringComparison.Ordinal));
        Assert.Contains("typed/", output);
        Assert.Contains(output, l => l.StartsWith("/sys/fs", StringComparison.Ordinal));
        Assert.Contains(output, l => l.Contains("fos stopped", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(FosCommand.SigTerm)]
    [InlineData(FosCommand.SigInt)]
    public async Task Boot_prints_the_layout_stays_up_and_stops_cleanly_on_a_signal(int signal)
    {
        await using var fos = FosCommand.Start("boot", "--headless", "--cores", "2", "--data", data);
        await fos.WaitForLine("fos is up", FosCommand.Deadline);
        var layout = fos.Stdout;
        Assert.Contains(layout, l => l.Contains("name-server", StringComparison.Ordinal) && l.Contains("m1.c0", StringComparison.Ordinal));
        Assert.Contains(layout, l => l.Contains("fos machine m1", StringComparison.Ordinal));

        fos.Signal(signal);
        Assert.Equal(0, await fos.WaitForExit(FosCommand.Deadline));
        Assert.Contains(fos.Stdout, l => l.Contains("fos stopped", StringComparison.Ordinal));
        Assert.Equal("", fos.Stderr);
    }

    [Fact]
    public async Task Boot_with_more_cores_than_cpus_runs_oversubscribed_and_says_so()
    {
        var cores = (Environment.ProcessorCount * 4).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var fos = FosCommand.Start("boot", "--headless", "--cores", cores, "--data", data);
        await fos.WaitForLine("fos is up", FosCommand.Deadline);
        Assert.Contains(fos.Stdout, l => l.Contains("oversubscribed", StringComparison.Ordinal));
        Assert.Contains(fos.Stdout, l => l.Contains($"m1.c{Environment.ProcessorCount * 4 - 1}", StringComparison.Ordinal));
        fos.Signal(FosCommand.SigTerm);
        Assert.Equal(0, await fos.WaitForExit(FosCommand.Deadline));
    }

    [Theory]
    [InlineData("--cores", "0", "--cores must be between 1 and")]
    [InlineData("--cores", "lots", "lots")]
    [InlineData("--machine", "70000", "--machine must be between 1 and 65535")]
    [InlineData("--spin-us", "-5", "--spin-us must be between 0 and")]
    [InlineData("--frobnicate", "1", "--frobnicate")]
    public async Task Boot_with_bad_options_exits_nonzero_and_says_what_is_wrong(string option, string value, string says)
    {
        var (code, stdout, stderr) = await FosCommand.Run("boot", "--headless", "--data", data, option, value);
        Assert.NotEqual(0, code);
        Assert.Contains(says, stderr + string.Join('\n', stdout), StringComparison.Ordinal);
        Assert.DoesNotContain(stdout, l => l.Contains("fos is up", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unknown_command_exits_nonzero_and_points_at_help()
    {
        var (code, stdout, stderr) = await FosCommand.Run("frobnicate");
        Assert.NotEqual(0, code);
        Assert.Contains("frobnicate", stderr + string.Join('\n', stdout), StringComparison.Ordinal);
    }
}
