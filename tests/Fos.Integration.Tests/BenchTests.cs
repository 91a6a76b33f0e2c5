using System.Text.Json;

namespace Fos.Integration.Tests;

public class BenchTests
{
    [Theory]
    [InlineData("nullcall", new[] { "fos-nullcall", "linux-getppid", "none", "raw-spin-pingpong", "ring-pingpong" })]
    [InlineData("msg-throughput", new[] { "raw-spsc-ring", "ring-stream" })]
    [InlineData("wakeup", new[] { "raw-spin-pingpong" })]
    public async Task Bench_json_prints_one_result_per_line_then_a_summary(string scenario, string[] baselines)
    {
        var (code, stdout, stderr) = await FosCommand.Run("bench", scenario, "--json", "--quick", "--chunks", "3");
        Assert.True(code == 0, stderr);
        Assert.True(stdout.Count >= 2, string.Join('\n', stdout));
        var lines = stdout.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var results = lines[..^1];
        foreach (var r in results)
        {
            Assert.Equal(scenario, r.GetProperty("scenario").GetString());
            var value = r.GetProperty("value").GetDouble();
            var baselineValue = r.GetProperty("baseline_value").GetDouble();
            if (r.GetProperty("baseline").GetString() == "none")
            {
                // A figure against a fixed target (allocation per call): no baseline to divide by.
                Assert.True(value >= 0 && baselineValue == 0, r.ToString());
                Assert.Equal(JsonValueKind.Null, r.GetProperty("ratio").ValueKind);
            }
            else
            {
                Assert.True(value > 0 && baselineValue > 0, r.ToString());
                Assert.Equal(value / baselineValue, r.GetProperty("ratio").GetDouble(), 1e-9);
            }
            Assert.False(string.IsNullOrEmpty(r.GetProperty("metric").GetString()));
            Assert.False(string.IsNullOrEmpty(r.GetProperty("unit").GetString()));
        }
        Assert.Equal(baselines.Order(), results.Select(r => r.GetProperty("baseline").GetString()!).Distinct().Order());
        var summary = lines[^1];
        Assert.True(summary.GetProperty("summary").GetBoolean());
        Assert.Equal(results.Count, summary.GetProperty("results").GetInt32());
        Assert.True(summary.GetProperty("machine").GetProperty("cpus").GetInt32() > 0);
    }

    [Theory]
    [InlineData("nosuch", "nosuch")]
    [InlineData("nullcall --chunks 0", "--chunks must be between 1 and 1000")]
    public async Task Bad_input_to_bench_exits_nonzero_and_says_what_is_wrong(string args, string says)
    {
        var (code, stdout, stderr) = await FosCommand.Run(["bench", .. args.Split(' ')]);
        Assert.NotEqual(0, code);
        Assert.Contains(says, stderr + string.Join('\n', stdout), StringComparison.Ordinal);
    }
}
