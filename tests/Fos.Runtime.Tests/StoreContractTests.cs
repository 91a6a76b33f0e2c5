using System.Diagnostics;
using Fos.Kernel;
using Fos.Kernel.Storage;
using Fos.Runtime.Storage;
using Fos.Tests.Shared;
using Microsoft.Data.Sqlite;
using static Fos.Tests.Shared.StoreContract;

namespace Fos.Runtime.Tests;

/// <summary>
/// The store contract (see <see cref="IStore"/>) on both real engines: the engine-independent
/// checks, a child process killed while it writes, syncs racing a close, and deleted space going
/// back to the host.
/// </summary>
public sealed class StoreContractTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly string data = Path.Combine(Path.GetTempPath(), "fos-contract-" + Guid.NewGuid().ToString("N"));
    private readonly List<DiskStores> providers = [];

    public static TheoryData<StoreEngine> Engines => new() { StoreEngine.RocksDb, StoreEngine.Sqlite };

    /// <summary>Opens the store under test in a fresh provider each time, as a restarted machine would.</summary>
    private Func<IStore> Opener(StoreEngine engine, StoreOptions? options = null) => () =>
    {
        var stores = new DiskStores(data, engine, options);
        providers.Add(stores);
        return stores.Open("contract");
    };

    [Theory, MemberData(nameof(Engines))]
    public void A_clean_close_keeps_every_batch_written_without_a_sync(StoreEngine engine) =>
        StoreContract.A_clean_close_keeps_every_batch_written_without_a_sync(Opener(engine));

    [Theory, MemberData(nameof(Engines))]
    public void Range_deletes_apply_in_order_with_the_rest_of_the_batch(StoreEngine engine) =>
        StoreContract.Range_deletes_apply_in_order_with_the_rest_of_the_batch(Opener(engine));

    [Theory, MemberData(nameof(Engines))]
    public void Scans_keep_byte_order_prefix_start_and_limit(StoreEngine engine) =>
        StoreContract.Scans_keep_byte_order_prefix_start_and_limit(Opener(engine));

    [Theory, MemberData(nameof(Engines))]
    public void Large_values_round_trip(StoreEngine engine) => StoreContract.Large_values_round_trip(Opener(engine));

    [Theory, MemberData(nameof(Engines))]
    public void Empty_values_are_kept_and_empty_keys_refused(StoreEngine engine) =>
        StoreContract.Empty_values_are_kept_and_empty_keys_refused(Opener(engine));

    [Theory, MemberData(nameof(Engines))]
    public Task Bad_input_and_a_closed_store_fail_cleanly(StoreEngine engine) =>
        StoreContract.Bad_input_and_a_closed_store_fail_cleanly(Opener(engine));

    [Theory, MemberData(nameof(Engines))]
    public async Task Extents_read_back_what_was_written_holes_as_zeros_and_sync(StoreEngine engine)
    {
        StoreContract.Extents_read_back_what_was_written_holes_as_zeros(Opener(engine));
        using var store = Opener(engine)();
        store.Extents.Write(9, 0, B("synced"));
        store.Extents.Delete(5);
        await store.Sync(); // the extents and their directory, then the batches
        Assert.Equal([9L, 1L << 40], store.Extents.List());
    }

    /// <summary>(b), (c) and (e): a process killed with SIGKILL while it writes loses nothing it was told was written, and leaves a prefix.</summary>
    [Theory, MemberData(nameof(Engines))]
    public void A_killed_writer_keeps_every_returned_batch_and_a_prefix_of_the_rest(StoreEngine engine)
    {
        var reported = RunWriterAndKill(engine, killAfter: 300);

        using var stores = new DiskStores(data, engine);
        using var store = stores.Open("crash");
        Assert.Equal("yes", S(store.Get(B("synced"))));
        var last = int.Parse(S(store.Get(B("last"))));
        Assert.InRange(last, reported, StoreWriter.MaxBatches); // every batch whose write returned is there
        var batches = store.Scan(B("b/")).Select(e => S(e.Key)).ToList();
        var expected = Enumerable.Range(1, last).SelectMany(i => new[] { StoreWriter.BatchKey(i, 'x'), StoreWriter.BatchKey(i, 'y') });
        Assert.Equal(expected, batches); // whole batches, 1..last and nothing after: a prefix
        var extent = new byte[store.Extents.Length(StoreWriter.Extent)];
        store.Extents.Read(StoreWriter.Extent, 0, extent);
        Assert.True(extent.Length >= reported * 4, $"the extent holds {extent.Length / 4} of the {reported} numbers written before the kill");
        for (var i = 1; i <= reported; i++) Assert.Equal(i, BitConverter.ToInt32(extent, (i - 1) * 4)); // each extent write that returned
    }

    /// <summary>Starts the writer child process, waits until it reports <paramref name="killAfter"/> batches, kills it, and says how many it reported.</summary>
    private int RunWriterAndKill(StoreEngine engine, int killAfter)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "exec", typeof(StoreWriter).Assembly.Location, StoreWriter.Command, engine.ToString(), data })
            start.ArgumentList.Add(arg);
        using var child = Process.Start(start)!;
        var reported = 0;
        var synced = false;
        var timer = Stopwatch.StartNew();
        try
        {
            while (reported < killAfter)
            {
                Assert.True(timer.Elapsed < Deadline, "the writer did not report in time");
                var line = child.StandardOutput.ReadLine();
                if (line is null) Assert.Fail("the writer stopped early: " + child.StandardError.ReadToEnd());
                if (line == "synced") synced = true;
                else if (line.StartsWith("wrote ")) reported = int.Parse(line["wrote ".Length..]);
            }
        }
        finally
        {
            child.Kill(entireProcessTree: true); // SIGKILL: no clean close, no flush
            child.WaitForExit();
        }
        Assert.True(synced);
        return reported;
    }

    /// <summary>Syncs on pool threads and a close from another thread race; nothing may touch a freed handle.</summary>
    [Theory, MemberData(nameof(Engines))]
    public async Task Many_syncs_racing_a_close_never_crash(StoreEngine engine)
    {
        using var stores = new DiskStores(data, engine);
        for (var round = 0; round < 20; round++)
        {
            var store = stores.Open("race");
            store.Write(new StoreBatch().Put(B("k"), B(round.ToString())));
            using var go = new ManualResetEventSlim();
            var racers = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
            {
                go.Wait();
                for (var i = 0; i < 20; i++)
                {
                    try
                    {
                        await store.Sync();
                        store.Write(new StoreBatch().Put(B("k"), B("more")));
                        store.Get(B("k"));
                    }
                    catch (ObjectDisposedException)
                    {
                        return;
                    }
                }
            })).ToList();
            var closer = Task.Run(() =>
            {
                go.Wait();
                store.Dispose();
            });
            go.Set();
            await Task.WhenAll([.. racers, closer]).WaitAsync(Deadline);
            await Assert.ThrowsAsync<ObjectDisposedException>(store.Sync);
        }
    }

    /// <summary>Range-deleting 50 MB gives the space back to the host within a deadline.</summary>
    [Theory, MemberData(nameof(Engines))]
    public async Task Range_deleted_space_goes_back_to_the_host(StoreEngine engine)
    {
        using var stores = new DiskStores(data, engine);
        using var store = stores.Open("space");
        var directory = Path.Combine(stores.Root, "space");
        var value = new byte[64 << 10];
        new Random(1).NextBytes(value);
        for (var i = 0; i < 800; i += 8)
        {
            var batch = new StoreBatch();
            for (var j = i; j < i + 8; j++) batch.Put(B($"f/{j:D6}"), value);
            store.Write(batch);
        }
        await store.Sync();
        Assert.True(SizeOnDisk(directory) > 40L << 20, $"50 MB written but {SizeOnDisk(directory)} bytes on disk");

        store.Write(new StoreBatch().DeleteRange(B("f/"), B("f0")).Put(B("kept"), B("1")));
        Assert.Empty(store.Scan(B("f/")));
        await Eventually(() => SizeOnDisk(directory) < 10L << 20, () => $"{SizeOnDisk(directory)} bytes still on disk");
        Assert.Equal("1", S(store.Get(B("kept"))));
    }

    [Fact]
    public void A_sqlite_store_made_without_auto_vacuum_gets_it_and_keeps_its_data()
    {
        var directory = Path.Combine(data, "stores", "old");
        Directory.CreateDirectory(directory);
        using (var old = new SqliteConnection($"Data Source={Path.Combine(directory, "store.sqlite")};Pooling=false"))
        {
            old.Open();
            using var create = old.CreateCommand();
            create.CommandText = "PRAGMA journal_mode=WAL; CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID; " +
                                 "INSERT INTO kv VALUES (x'6b', x'76');";
            create.ExecuteNonQuery();
        }
        using (var stores = new DiskStores(data, StoreEngine.Sqlite))
        using (var store = stores.Open("old"))
            Assert.Equal("v", S(store.Get(B("k"))));
        using var check = new SqliteConnection($"Data Source={Path.Combine(directory, "store.sqlite")};Pooling=false");
        check.Open();
        using var query = check.CreateCommand();
        query.CommandText = "PRAGMA auto_vacuum;";
        Assert.Equal(2L, query.ExecuteScalar()); // incremental
    }

    [Theory, MemberData(nameof(Engines))]
    public void Settings_that_cannot_work_and_a_closed_provider_are_refused(StoreEngine engine)
    {
        Assert.Throws<ArgumentNullException>(() => new DiskStores(null!, engine));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DiskStores(data, engine, new StoreOptions { WriteBuffers = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DiskStores(data, engine, new StoreOptions { BlockCacheBytes = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DiskStores(data, engine, new StoreOptions { VacuumAfterFreedBytes = -1 }));
        var stores = new DiskStores(data, engine, new StoreOptions { WriteBufferBytes = 1 << 20, MachineWriteBufferBytes = 2 << 20 });
        var store = stores.Open("small");
        store.Write(new StoreBatch().Put(B("k"), new byte[3 << 20])); // bigger than a write buffer
        stores.Dispose();
        Assert.Throws<ObjectDisposedException>(() => store.Get(B("k")));
        Assert.Throws<ObjectDisposedException>(() => stores.Open("other"));
        using var again = new DiskStores(data, engine);
        using var reopened = again.Open("small");
        Assert.Equal(3 << 20, reopened.Get(B("k"))!.Length);
    }

    private static long SizeOnDisk(string directory) =>
        new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f =>
        {
            try
            {
                return f.Length;
            }
            catch (FileNotFoundException)
            {
                return 0; // deleted while counted
            }
        });

    /// <summary>Waits for <paramref name="condition"/>, checking it every few milliseconds, and fails after the deadline.</summary>
    private static async Task Eventually(Func<bool> condition, Func<string> explain)
    {
        var timer = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(timer.Elapsed < Deadline, explain());
            await Task.Delay(20);
        }
    }

    public void Dispose()
    {
        foreach (var stores in providers) stores.Dispose();
        if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
    }
}
