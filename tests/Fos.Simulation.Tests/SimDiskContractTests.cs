using Fos.Kernel.Storage;
using Fos.Tests.Shared;
using static Fos.Tests.Shared.StoreContract;

namespace Fos.Simulation.Tests;

/// <summary>The store contract (see <see cref="IStore"/>) on the simulated disk, crashes included.</summary>
public sealed class SimDiskContractTests : IAsyncDisposable
{
    private readonly SimulatedSystem system = Sim.Create();

    private IStore Open() => system.Execute(Sim.Core(1), k => Task.FromResult(k.OpenStore("contract"))).GetAwaiter().GetResult();

    [Fact]
    public void A_clean_close_keeps_every_batch_written_without_a_sync() =>
        StoreContract.A_clean_close_keeps_every_batch_written_without_a_sync(Open);

    [Fact]
    public void Range_deletes_apply_in_order_with_the_rest_of_the_batch() =>
        StoreContract.Range_deletes_apply_in_order_with_the_rest_of_the_batch(Open);

    [Fact]
    public void Scans_keep_byte_order_prefix_start_and_limit() => StoreContract.Scans_keep_byte_order_prefix_start_and_limit(Open);

    [Fact]
    public void Large_values_round_trip() => StoreContract.Large_values_round_trip(Open);

    [Fact]
    public void Empty_values_are_kept_and_empty_keys_refused() => StoreContract.Empty_values_are_kept_and_empty_keys_refused(Open);

    [Fact]
    public Task Bad_input_and_a_closed_store_fail_cleanly() => StoreContract.Bad_input_and_a_closed_store_fail_cleanly(Open);

    [Fact]
    public void Extents_read_back_what_was_written_holes_as_zeros() => StoreContract.Extents_read_back_what_was_written_holes_as_zeros(Open);

    /// <summary>A crash keeps the extents as a sync left them, in order with the batches: what came after is gone, whole.</summary>
    [Fact]
    public async Task A_crash_keeps_extents_as_the_last_sync_left_them()
    {
        await system.Execute(Sim.Core(1), async k =>
        {
            var store = k.OpenStore("contract");
            store.Extents.Write(1, 0, B("synced"));
            store.Extents.Write(2, 0, B("gone later"));
            store.Write(new StoreBatch().Put(B("size"), B("6")));
            await store.Sync();
            store.Extents.Write(1, 6, B(" and not")); // after the sync: lost with the crash
            store.Extents.SetLength(1, 3);
            store.Extents.Delete(2);
            store.Extents.Write(3, 0, B("new"));
            store.Write(new StoreBatch().Put(B("size"), B("14")));
            return true;
        });
        system.CrashCore(Sim.Core(1));

        var seen = await system.Execute(Sim.Core(2), k =>
        {
            using var store = k.OpenStore("contract");
            var one = new byte[store.Extents.Length(1)];
            store.Extents.Read(1, 0, one);
            return Task.FromResult((S(one), store.Extents.List(), S(store.Get(B("size")))));
        });
        Assert.Equal("synced", seen.Item1);
        Assert.Equal([1L, 2L], seen.Item2);
        Assert.Equal("6", seen.Item3);
    }

    /// <summary>(c) and (e): a crash keeps what a sync covered, range deletes included, and drops the later batches whole.</summary>
    [Fact]
    public async Task A_crash_keeps_the_synced_prefix_of_the_batches_range_deletes_included()
    {
        await system.Execute(Sim.Core(1), async k =>
        {
            var store = k.OpenStore("contract");
            store.Write(new StoreBatch().Put(B("f/1"), B("a")).Put(B("f/2"), B("b")).Put(B("g"), B("c")));
            store.Write(new StoreBatch().DeleteRange(B("f/"), B("f0")).Put(B("f/3"), B("d")));
            var sync = store.Sync();
            store.Write(new StoreBatch().Delete(B("g")).Put(B("h"), B("e"))); // after the sync began: not covered
            await sync;
            store.Write(new StoreBatch().Put(B("i"), B("f")));
            return true;
        });
        system.CrashCore(Sim.Core(1));

        var seen = await system.Execute(Sim.Core(2), k =>
        {
            using var store = k.OpenStore("contract");
            return Task.FromResult(Keys(store));
        });
        Assert.Equal(["f/3", "g"], seen);
    }

    /// <summary>A clean close followed by a crash of the next opener still loses only what was never synced.</summary>
    [Fact]
    public async Task A_clean_close_keeps_unsynced_batches_until_a_crash_of_a_later_opener()
    {
        using (var first = Open())
            first.Write(new StoreBatch().Put(B("a"), B("1")));
        await system.Execute(Sim.Core(1), async k =>
        {
            var store = k.OpenStore("contract");
            Assert.Equal("1", S(store.Get(B("a"))));
            await store.Sync();
            store.Write(new StoreBatch().Put(B("b"), B("2")));
            return true;
        });
        system.CrashCore(Sim.Core(1));
        var seen = await system.Execute(Sim.Core(2), k =>
        {
            using var store = k.OpenStore("contract");
            return Task.FromResult(Keys(store));
        });
        Assert.Equal(["a"], seen);
    }

    public async ValueTask DisposeAsync() => await system.DisposeAsync();
}
