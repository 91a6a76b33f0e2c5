using System.Text;
using Fos.Kernel;
using Fos.Kernel.Storage;

namespace Fos.Simulation.Tests;

public class SimDiskTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static string? S(byte[]? b) => b is null ? null : Encoding.UTF8.GetString(b);

    [Fact]
    public async Task A_crash_loses_what_was_not_synced_and_keeps_what_was()
    {
        await using var system = Sim.Create();
        await system.Execute(Sim.Core(1), async k =>
        {
            var store = k.OpenStore("fs/member-0");
            store.Write(new StoreBatch().Put(B("synced"), B("1")));
            await store.Sync();
            store.Write(new StoreBatch().Put(B("unsynced"), B("2")).Delete(B("synced")));
            Assert.Null(store.Get(B("synced"))); // reads see writes at once
            return true;
        });
        system.CrashCore(Sim.Core(1));

        var seen = await system.Execute(Sim.Core(2), k =>
        {
            using var store = k.OpenStore("fs/member-0");
            return Task.FromResult((S(store.Get(B("synced"))), S(store.Get(B("unsynced")))));
        });
        Assert.Equal(("1", (string?)null), seen);
    }

    [Fact]
    public async Task A_sync_takes_virtual_time_and_covers_only_writes_before_it()
    {
        await using var system = Sim.Create();
        var (took, durableKeys) = await system.Execute(Sim.Core(0), async k =>
        {
            using var store = k.OpenStore("probe");
            store.Write(new StoreBatch().Put(B("a"), B("1")));
            var start = k.Now;
            var sync = store.Sync();
            store.Write(new StoreBatch().Put(B("b"), B("2"))); // after the sync began
            await sync;
            return (k.Now - start, system.DurableContents("probe").Keys.Select(S).ToList());
        });
        Assert.Equal(system.Options.SyncLatency, took);
        Assert.Equal(["a"], durableKeys);
    }

    [Fact]
    public async Task A_store_is_open_once_and_a_crashed_cores_handle_goes_stale()
    {
        await using var system = Sim.Create();
        var store = await system.Execute(Sim.Core(1), k => Task.FromResult(k.OpenStore("probe")));
        var twice = await Assert.ThrowsAsync<FosException>(() => system.Execute(Sim.Core(2), k => Task.FromResult(k.OpenStore("probe"))));
        Assert.Contains("already open on m1.c1", twice.Message);

        system.CrashCore(Sim.Core(1));
        var stale = Assert.Throws<FosException>(() => store.Get(B("x")));
        Assert.Contains("closed", stale.Message);
        var reopened = await system.Execute(Sim.Core(2), k => Task.FromResult(k.OpenStore("probe")));
        Assert.Empty(reopened.Scan(B("")));
    }

    [Fact]
    public async Task Scans_return_keys_in_byte_order_within_the_prefix()
    {
        await using var system = Sim.Create();
        var keys = await system.Execute(Sim.Core(0), k =>
        {
            using var store = k.OpenStore("probe");
            store.Write(new StoreBatch().Put(B("d/b"), B("")).Put(B("d/a"), B("")).Put(B("e"), B("")).Put(B("c"), B("")));
            return Task.FromResult(store.Scan(B("d/")).Select(e => S(e.Key)).ToList());
        });
        Assert.Equal(["d/a", "d/b"], keys);
    }
}
