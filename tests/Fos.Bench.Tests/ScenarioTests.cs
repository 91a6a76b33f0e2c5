using System.Text.Json;
using Fos.Bench;

namespace Fos.Bench.Tests;

/// <summary>Quick runs of every scenario: the right figures come out, finite and well formed.</summary>
public class ScenarioTests
{
    private static readonly BenchSettings Quick = new() { Quick = true };

    [Fact]
    public async Task Nullcall_reports_the_fos_call_against_getppid_the_spin_ping_pong_and_the_ring_ping_pong_and_the_call_from_a_process_against_it()
    {
        var progress = new List<string>();
        var results = await BenchCatalog.Run("nullcall", Quick, progress.Add);

        Assert.Equal(
            [("ns_per_call", "linux-getppid"), ("ns_per_call", "raw-spin-pingpong"), ("ns_per_call", "ring-pingpong"), ("ns_per_call_from_process", "fos-nullcall"), ("bytes_per_call", "none")],
            results.Select(r => (r.Metric, r.Baseline)));
        Assert.All(results.Take(4), r => Assert.Equal(("nullcall", "ns"), (r.Scenario, r.Unit)));
        Assert.Equal(("nullcall", "B"), (results[4].Scenario, results[4].Unit));
        Assert.Single(results.Take(3).Select(r => r.Value).Distinct()); // one fos figure, three baselines
        Assert.Equal(results[0].Value, results[3].BaselineValue); // the call from a process is judged against that figure
        AssertWellFormed(results);
        Assert.Contains(progress, p => p.Contains($"chunk {Quick.Chunks}/{Quick.Chunks}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Mem_map_reports_buffers_from_a_process_against_mmap_on_the_host()
    {
        var results = await BenchCatalog.Run("mem-map", Quick with { Chunks = 1 });
        var map = Assert.Single(results);
        Assert.Equal(("mem-map", "us_per_2mib_buffer", "us", "host-mmap"), (map.Scenario, map.Metric, map.Unit, map.Baseline));
        AssertWellFormed(results);
    }

    [Fact]
    public async Task Spawn_reports_a_warm_and_a_cold_application_process_start_against_dotnet_on_the_host()
    {
        var results = await BenchCatalog.Run("spawn", Quick with { Chunks = 1 });
        Assert.Equal(
            [("spawn", "ms_per_spawn", "ms", "host-dotnet"), ("spawn", "ms_per_cold_spawn", "ms", "host-dotnet")],
            results.Select(r => (r.Scenario, r.Metric, r.Unit, r.Baseline)));
        AssertWellFormed(results);
    }

    [Fact]
    public async Task Remote_call_and_throughput_report_against_raw_tcp_on_loopback()
    {
        var call = Assert.Single(await BenchCatalog.Run("remote-call", Quick with { Chunks = 1 }));
        Assert.Equal(("remote-call", "us_per_call", "us", "raw-tcp"), (call.Scenario, call.Metric, call.Unit, call.Baseline));
        var throughput = Assert.Single(await BenchCatalog.Run("remote-throughput", Quick with { Chunks = 1 }));
        Assert.Equal(("remote-throughput", "msgs_per_sec", "msg/s", "raw-tcp"), (throughput.Scenario, throughput.Metric, throughput.Unit, throughput.Baseline));
        var fs = await BenchCatalog.Run("remote-fs", Quick with { Chunks = 1 });
        Assert.Equal(["files_per_sec", "write_mb_per_sec", "read_mb_per_sec"], fs.Select(r => r.Metric));
        Assert.All(fs, r => Assert.True(r.Baseline == "fs-same-machine" && r.Value > 0 && r.BaselineValue > 0, $"{r.Metric}: {r.Value} against {r.BaselineValue}"));
        AssertWellFormed([call, throughput]);
    }

    [Fact]
    public async Task Msg_throughput_reports_unbatched_and_batched_sends_against_the_raw_ring_and_batched_ones_against_the_machines_ring()
    {
        var results = await BenchCatalog.Run("msg-throughput", Quick);

        Assert.Equal(
            [("msgs_per_sec_unbatched", "raw-spsc-ring"), ("msgs_per_sec_batched", "raw-spsc-ring"), ("msgs_per_sec_batched", "ring-stream")],
            results.Select(r => (r.Metric, r.Baseline)));
        Assert.Equal(results[1].Value, results[2].Value); // one fos figure, two baselines
        Assert.All(results, r => Assert.Equal(("msg-throughput", "msg/s"), (r.Scenario, r.Unit)));
        AssertWellFormed(results);
    }

    [Fact]
    public async Task Wakeup_reports_calls_after_idleness_within_and_past_the_spin_budget()
    {
        var results = await BenchCatalog.Run("wakeup", Quick with { Chunks = 3 });

        Assert.Equal(
            ["ns_per_call_after_20us_idle", "ns_per_call_after_200us_idle", "ns_per_call_after_20us_idle_spin0"],
            results.Select(r => r.Metric));
        Assert.All(results, r => Assert.Equal(("wakeup", "ns", "raw-spin-pingpong"), (r.Scenario, r.Unit, r.Baseline)));
        AssertWellFormed(results);
    }

    [Fact]
    public async Task The_file_system_scenarios_report_each_engine_against_the_host()
    {
        var one = Quick with { Chunks = 1 };
        var small = await BenchCatalog.Run("fs-small", one);
        Assert.Equal(
            [("files_per_sec_rocksdb", "host-fs"), ("files_per_sec_rocksdb_8_writers", "host-fs"), ("files_per_sec_sqlite", "host-fs"), ("files_per_sec_sqlite_8_writers", "host-fs")],
            small.Select(r => (r.Metric, r.Baseline)));
        Assert.NotEqual(small[0].BaselineValue, small[1].BaselineValue); // eight host writers are a baseline of their own
        var sequential = await BenchCatalog.Run("fs-seq", one);
        Assert.Equal(["write_mb_per_sec_rocksdb", "read_mb_per_sec_rocksdb", "write_mb_per_sec_sqlite", "read_mb_per_sec_sqlite"], sequential.Select(r => r.Metric));
        var stat = await BenchCatalog.Run("sys-stat", one);
        Assert.Equal([("ns_per_stat", "fos-nullcall"), ("ns_per_stat_from_process", "fos-stat")], stat.Select(r => (r.Metric, r.Baseline)));
        Assert.Equal(stat[0].Value, stat[1].BaselineValue); // the stat from a process is judged against the machine's own
        AssertWellFormed([.. small, .. sequential, .. stat]);
    }

    [Fact]
    public async Task A_single_chunk_is_enough_to_report()
    {
        var results = await BenchCatalog.Run("nullcall", Quick with { Chunks = 1 });
        AssertWellFormed(results);
    }

    [Fact]
    public void The_catalog_lists_every_scenario_with_a_description()
    {
        Assert.Equal(["nullcall", "msg-throughput", "wakeup", "fs-small", "fs-seq", "mem-map", "spawn", "sys-stat", "remote-call", "remote-throughput", "remote-fs"], BenchCatalog.Scenarios.Select(s => s.Name));
        Assert.All(BenchCatalog.Scenarios, s => Assert.False(string.IsNullOrWhiteSpace(s.Description)));
    }

    [Fact]
    public async Task An_unknown_scenario_is_refused_with_the_known_ones_named()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => BenchCatalog.Run("warp-drive", Quick));
        Assert.Contains("warp-drive", ex.Message);
        Assert.Contains("nullcall", ex.Message);
        Assert.Contains("msg-throughput", ex.Message);
    }

    private static void AssertWellFormed(IReadOnlyList<BenchResult> results)
    {
        foreach (var result in results)
        {
            var absolute = result.Baseline == BenchResult.Absolute;
            Assert.True(double.IsFinite(result.Value) && (result.Value > 0 || absolute && result.Value == 0), $"value {result.Value}");
            Assert.True(absolute ? result.BaselineValue == 0 : double.IsFinite(result.BaselineValue) && result.BaselineValue > 0, $"baseline value {result.BaselineValue}");
            if (absolute) Assert.Null(result.Ratio);
            else Assert.Equal(result.Value / result.BaselineValue, result.Ratio!.Value, 12);

            using var line = JsonDocument.Parse(BenchJson.Line(result));
            var json = line.RootElement;
            Assert.Equal(result.Scenario, json.GetProperty("scenario").GetString());
            Assert.Equal(result.Metric, json.GetProperty("metric").GetString());
            Assert.Equal(result.Value, json.GetProperty("value").GetDouble());
            Assert.Equal(result.Unit, json.GetProperty("unit").GetString());
            Assert.Equal(result.Baseline, json.GetProperty("baseline").GetString());
            Assert.Equal(result.BaselineValue, json.GetProperty("baseline_value").GetDouble());
            if (result.Ratio is { } ratio) Assert.Equal(ratio, json.GetProperty("ratio").GetDouble());
            else Assert.Equal(JsonValueKind.Null, json.GetProperty("ratio").ValueKind);
        }
        using var summary = JsonDocument.Parse(BenchJson.Summary(results[0].Scenario, results));
        Assert.True(summary.RootElement.GetProperty("summary").GetBoolean());
        Assert.Equal(results.Count, summary.RootElement.GetProperty("results").GetInt32());
    }
}
