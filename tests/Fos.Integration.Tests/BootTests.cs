namespace Fos.Integration.Tests;

public class BootTests
{
    [Theory]
    [InlineData(FosCommand.SigTerm)]
    [InlineData(FosCommand.SigInt)]
    public async Task Boot_prints_the_layout_stays_up_and_stops_cleanly_on_a_signal(int signal)
    {
        await using var fos = FosCommand.Start("boot", "--cores", "2");
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
        await using var fos = FosCommand.Start("boot", "--cores", cores);
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
        var (code, stdout, stderr) = await FosCommand.Run("boot", option, value);
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
