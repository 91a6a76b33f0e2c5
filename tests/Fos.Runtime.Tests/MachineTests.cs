using Fos.Kernel;
using Fos.Runtime;
using Fos.Services;
using Fos.Services.Basic;

namespace Fos.Runtime.Tests;

public class MachineTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(Machine.MaxCores + 1)]
    public void A_core_count_out_of_range_is_refused(int cores)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Machine.Start(new MachineOptions { Cores = cores }));
        Assert.Contains($"between 1 and {Machine.MaxCores}", error.Message);
    }

    [Fact]
    public async Task More_cores_than_cpus_run_parked_and_every_pair_still_talks()
    {
        var cpus = Affinity.AllowedCpus().Count;
        var cores = Math.Max(8, cpus * 4);
        await using var machine = Machine.Start(new MachineOptions { Cores = cores });
        Assert.True(machine.Oversubscribed);
        Assert.False(machine.PinsCores);
        Assert.Equal(TimeSpan.Zero, machine.SpinBeforePark);
        await SystemBoot.StartNaming(machine);

        // An echo server on every core, and every core calls every other one.
        var echoes = new List<Endpoint>();
        foreach (var core in machine.Cores)
            echoes.Add(await machine.Execute(core, k => Task.FromResult(k.StartServer(EchoServer.Image)), Deadline));
        foreach (var core in machine.Cores)
        {
            var answers = await machine.Execute(core, async k =>
            {
                var calls = echoes.Select(e => k.Call(e, $"{k.Core}->{e.Address.CoreId}").AsTask()).ToList();
                return await Task.WhenAll(calls);
            }, Deadline);
            Assert.Equal(echoes.Select(e => (object?)$"{core}->{e.Address.CoreId}"), answers);
        }
        Assert.All(machine.PinnedCpus, cpu => Assert.Null(cpu));
        Assert.True(machine.Parks.Sum() > 0, "idle oversubscribed cores park");
        Assert.Empty(machine.Faults);
    }

    [Fact]
    public async Task Rings_exist_only_between_cores_that_have_talked()
    {
        await using var machine = Machine.Start(new MachineOptions { Cores = 6, Pin = false });
        var cores = machine.Cores;
        var echo = await machine.Execute(cores[5], k => Task.FromResult(k.StartServer(EchoServer.Image)), Deadline);
        Assert.Equal("hi", await machine.Execute(cores[2], k => k.Call(echo, "hi").AsTask(), Deadline));
        Assert.Equal(2, machine.RingCount); // c2 -> c5 and the reply c5 -> c2
    }

    [Fact]
    public async Task With_enough_cpus_each_core_is_pinned_to_a_cpu_of_its_own()
    {
        var cpus = Affinity.AllowedCpus();
        var cores = Math.Min(2, cpus.Count);
        await using var machine = Machine.Start(new MachineOptions { Cores = cores });
        Assert.False(machine.Oversubscribed);
        Assert.True(machine.PinsCores);
        Assert.Equal(TimeSpan.FromMicroseconds(50), machine.SpinBeforePark);
        // Each core pins itself as its loop starts; a program run there proves the loop started.
        var seen = new List<int>();
        foreach (var core in machine.Cores)
            seen.Add(await machine.Execute(core, _ => Task.FromResult(Thread.GetCurrentProcessorId()), Deadline));
        var pinned = machine.PinnedCpus;
        Assert.All(pinned, cpu => Assert.NotNull(cpu));
        Assert.Equal(cores, pinned.Distinct().Count());
        Assert.All(pinned, cpu => Assert.Contains(cpu!.Value, cpus));
        Assert.Equal(pinned.Select(c => c!.Value), seen);
    }

    [Fact]
    public async Task A_program_that_throws_on_a_core_fails_its_caller_and_the_core_goes_on()
    {
        await using var machine = Machine.Start(new MachineOptions { Cores = 2, Pin = false });
        var core = machine.Cores[1];
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            machine.Execute<int>(core, _ => throw new InvalidOperationException("boom"), Deadline));
        Assert.Equal("boom", error.Message);
        Assert.Equal(42, await machine.Execute(core, _ => Task.FromResult(42), Deadline));
    }

    [Fact]
    public async Task A_program_for_a_core_the_machine_lacks_is_refused()
    {
        await using var machine = Machine.Start(new MachineOptions { Cores = 2, Pin = false });
        var error = Assert.Throws<FosException>(() => { _ = machine.Execute(new CoreId(1, 9), _ => Task.FromResult(0)); });
        Assert.Equal(FosError.NoSuchCore, error.Error);
        Assert.Contains("m1.c0..c1", error.Message);
    }

    [Fact]
    public async Task A_stopped_machine_refuses_new_programs()
    {
        var machine = Machine.Start(new MachineOptions { Cores = 2, Pin = false });
        await machine.DisposeAsync();
        Assert.Throws<ObjectDisposedException>(() => { _ = machine.Execute(machine.Cores[0], _ => Task.FromResult(0)); });
    }

    [Fact]
    public async Task A_core_that_does_not_stop_leaves_the_stores_open_and_the_directory_locked()
    {
        var data = Path.Combine(Path.GetTempPath(), "fos-stuck-" + Guid.NewGuid().ToString("N")[..8]);
        using var started = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var machine = Machine.Start(new MachineOptions { Cores = 2, Pin = false, DataDirectory = data, CoreStopTimeout = TimeSpan.FromMilliseconds(200) });
        var store = machine.Stores!.Open("test/stuck");
        try
        {
            // A program that blocks its core's loop, as a server stuck in a blocking call would.
            var blocked = machine.Execute(machine.Cores[1], _ =>
            {
                started.Set();
                release.Wait(Deadline);
                return Task.FromResult(0);
            });
            Assert.True(started.Wait(Deadline));

            await machine.DisposeAsync();

            Assert.True(machine.LeftStoresOpen);
            Assert.Contains(machine.Faults, f => f.Contains("m1.c1 did not stop", StringComparison.Ordinal));
            store.Write(new Fos.Kernel.Storage.StoreBatch().Put([1], [2])); // still open: the stuck core could be writing
            Assert.Equal([2], store.Get([1]));
            var error = Assert.Throws<FosException>(() => Fos.Runtime.Storage.DataDirectoryLock.Take(data));
            Assert.Contains("in use", error.Message);
            release.Set();
            Assert.Equal(0, await blocked.WaitAsync(Deadline));
        }
        finally
        {
            release.Set();
            store.Dispose();
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task A_machine_whose_cores_stop_closes_its_stores_and_frees_the_directory()
    {
        var data = Path.Combine(Path.GetTempPath(), "fos-clean-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var machine = Machine.Start(new MachineOptions { Cores = 2, Pin = false, DataDirectory = data });
            machine.Stores!.Open("test/clean");
            await machine.DisposeAsync();
            Assert.False(machine.LeftStoresOpen);
            Assert.Empty(machine.Faults);
            using var next = Fos.Runtime.Storage.DataDirectoryLock.Take(data); // free
            using var stores = new Fos.Runtime.Storage.DiskStores(data, Fos.Runtime.Storage.StoreEngine.RocksDb);
            using var reopened = stores.Open("test/clean"); // closed by the machine, so it opens again
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
