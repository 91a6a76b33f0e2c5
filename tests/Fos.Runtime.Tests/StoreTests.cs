using System.Text;
using Fos.Kernel;
using Fos.Kernel.Storage;
using Fos.Runtime;
using Fos.Runtime.Storage;

namespace Fos.Runtime.Tests;

/// <summary>The real storage ports: both engines keep the same contract.</summary>
public sealed class StoreTests : IDisposable
{
    private readonly string data = Path.Combine(Path.GetTempPath(), "fos-store-" + Guid.NewGuid().ToString("N"));

    public static TheoryData<StoreEngine> Engines => new() { StoreEngine.RocksDb, StoreEngine.Sqlite };

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static string S(byte[]? b) => b is null ? "<none>" : Encoding.UTF8.GetString(b);

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Puts_deletes_and_scans_in_byte_order_survive_a_reopen_after_sync(StoreEngine engine)
    {
        using (var stores = new DiskStores(data, engine))
        {
            using var store = stores.Open("fs/member-0");
            store.Write(new StoreBatch().Put(B("d/b"), B("2")).Put(B("d/a"), B("1")).Put(B("e/x"), B("9")).Put(B("d/c"), B("3")));
            store.Write(new StoreBatch().Delete(B("d/b")).Put(B("d/a"), B("one")));
            Assert.Equal("one", S(store.Get(B("d/a"))));
            Assert.Null(store.Get(B("d/b")));
            Assert.Equal(["d/a=one", "d/c=3"], store.Scan(B("d/")).Select(e => $"{S(e.Key)}={S(e.Value)}"));
            Assert.Equal(["d/c=3"], store.Scan(B("d/"), from: B("d/b")).Select(e => $"{S(e.Key)}={S(e.Value)}"));
            Assert.Single(store.Scan(B("d/"), limit: 1));
            await store.Sync();
        }
        using (var stores = new DiskStores(data, engine))
        {
            using var store = stores.Open("fs/member-0");
            Assert.Equal(["d/a=one", "d/c=3"], store.Scan(B("d/")).Select(e => $"{S(e.Key)}={S(e.Value)}"));
            Assert.Equal("9", S(store.Get(B("e/x"))));
        }
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_sync_asked_for_just_before_the_store_closes_still_syncs(StoreEngine engine)
    {
        Task synced;
        using (var stores = new DiskStores(data, engine))
        {
            var store = stores.Open("fs/member-2");
            store.Write(new StoreBatch().Put(B("k"), B("v")));
            synced = store.Sync();
            store.Dispose(); // waits for the sync asked for before it
        }
        await synced.WaitAsync(TimeSpan.FromSeconds(10));
        using var again = new DiskStores(data, engine);
        using var reopened = again.Open("fs/member-2");
        Assert.Equal("v", S(reopened.Get(B("k"))));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void A_store_open_twice_is_refused_until_closed(StoreEngine engine)
    {
        using var stores = new DiskStores(data, engine);
        var first = stores.Open("fs/member-1");
        var error = Assert.Throws<FosException>(() => stores.Open("fs/member-1"));
        Assert.Contains("already open", error.Message);
        first.Dispose();
        using var again = stores.Open("fs/member-1");
    }

    [Theory]
    [InlineData("")]
    [InlineData("../escape")]
    [InlineData("fs//x")]
    [InlineData("Upper")]
    [InlineData("fs/a b")]
    public void A_malformed_store_name_is_refused_before_touching_the_disk(string name)
    {
        using var stores = new DiskStores(data, StoreEngine.RocksDb);
        var error = Assert.Throws<FosException>(() => stores.Open(name));
        Assert.Equal(FosError.BadRequest, error.Error);
        Assert.False(Directory.Exists(Path.Combine(data, "stores", "..", "escape")));
    }

    [Fact]
    public async Task A_second_machine_on_the_same_data_directory_is_refused_and_the_first_keeps_running()
    {
        await using var first = Machine.Start(new MachineOptions { Cores = 1, DataDirectory = data, Pin = false });
        var error = Assert.Throws<FosException>(() => Machine.Start(new MachineOptions { Cores = 1, DataDirectory = data, Pin = false }));
        Assert.Contains("in use by another fos machine", error.Message);
        Assert.Contains($"process {Environment.ProcessId}", error.Message);
        var stored = await first.Execute(first.Cores[0], async k =>
        {
            using var store = k.OpenStore("probe");
            store.Write(new StoreBatch().Put(B("k"), B("v")));
            await store.Sync();
            return S(store.Get(B("k")));
        }, TimeSpan.FromSeconds(30));
        Assert.Equal("v", stored);
    }

    [Fact]
    public async Task A_machine_without_a_data_directory_says_it_has_no_storage()
    {
        await using var machine = Machine.Start(new MachineOptions { Cores = 1, Pin = false });
        var error = await Assert.ThrowsAsync<FosException>(() =>
            machine.Execute(machine.Cores[0], k => Task.FromResult(k.OpenStore("probe")), TimeSpan.FromSeconds(30)));
        Assert.Equal(FosError.NoStorage, error.Error);
        Assert.Contains("data directory", error.Message);
    }

    public void Dispose()
    {
        if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
    }
}
