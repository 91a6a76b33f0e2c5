using Fos.Kernel;
using Fos.Services.Basic;

namespace Fos.Runtime.Tests;

/// <summary>
/// The hot paths' allocation budget: a call in steady state allocates nothing on either core.
/// Garbage per call is a cost every system call pays later, in a collection on the caller's core;
/// a change that brings it back fails here rather than in a benchmark nobody reads.
/// </summary>
public class AllocationBudgetTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private const long Calls = 20_000;

    [Fact]
    public async Task A_null_call_to_another_core_allocates_nothing_on_either_core()
    {
        await using var machine = Machine.Start(new MachineOptions { Cores = 2 });
        var target = await machine.Execute(machine.Cores[1], k => Task.FromResult(k.StartServer(NullServer.Image)), Deadline);

        var (caller, server) = await PerCall(machine, machine.Cores[0], machine.Cores[1], target);

        Assert.True(caller < 1, $"the caller's core allocated {caller:0.##} B per call");
        Assert.True(server < 1, $"the server's core allocated {server:0.##} B per call");
    }

    [Fact]
    public async Task A_null_call_to_a_server_on_the_same_core_allocates_nothing()
    {
        await using var machine = Machine.Start(new MachineOptions { Cores = 1 });
        var core = machine.Cores[0];
        var target = await machine.Execute(core, k => Task.FromResult(k.StartServer(NullServer.Image)), Deadline);

        var (caller, _) = await PerCall(machine, core, core, target);

        Assert.True(caller < 1, $"the core allocated {caller:0.##} B per call");
    }

    [Fact]
    public async Task A_typed_call_allocates_nothing_either()
    {
        // What a system-call library hands its caller: the same pooled record, seen as its reply's type.
        await using var machine = Machine.Start(new MachineOptions { Cores = 2 });
        var target = await machine.Execute(machine.Cores[1], k => Task.FromResult(k.CreateMailbox(_ => ValueTask.FromResult<object?>(Ack.Instance))), Deadline);

        var (caller, server) = await PerCall(machine, machine.Cores[0], machine.Cores[1], target, typed: true);

        Assert.True(caller < 1, $"the caller's core allocated {caller:0.##} B per typed call");
        Assert.True(server < 1, $"the server's core allocated {server:0.##} B per typed call");
    }

    [Fact]
    public async Task The_budget_sees_an_allocation_when_there_is_one()
    {
        // The measure itself is tested: a server that allocates one object per call is caught.
        await using var machine = Machine.Start(new MachineOptions { Cores = 2 });
        var target = await machine.Execute(machine.Cores[1], k => Task.FromResult(k.CreateMailbox(_ => ValueTask.FromResult<object?>(new object()))), Deadline);

        var (_, server) = await PerCall(machine, machine.Cores[0], machine.Cores[1], target);

        // An object is 24 B; what a measurement costs once differs by a few bytes between runs.
        Assert.True(server > 20, $"an object per call should show as about 24 B, not {server:0.###}");
    }

    /// <summary>
    /// Bytes per call on the caller's and on the server's core: those of 2n calls less those of n,
    /// over n, after a warm-up, so what a measurement costs once cancels out.
    /// </summary>
    private static async Task<(double Caller, double Server)> PerCall(Machine machine, CoreId caller, CoreId server, Endpoint target, bool typed = false)
    {
        await Measure(machine, caller, server, target, Calls, typed);
        var once = await Measure(machine, caller, server, target, Calls, typed);
        var twice = await Measure(machine, caller, server, target, 2 * Calls, typed);
        return ((double)(twice.Caller - once.Caller) / Calls, (double)(twice.Server - once.Server) / Calls);
    }

    private static async Task<(long Caller, long Server)> Measure(Machine machine, CoreId caller, CoreId server, Endpoint target, long calls, bool typed)
    {
        var serverBefore = await machine.Execute(server, _ => Task.FromResult(GC.GetAllocatedBytesForCurrentThread()), Deadline);
        var callerBytes = await machine.Execute(caller, async k =>
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0L; i < calls; i++)
            {
                if (typed) await k.Call<Ack>(target, null);
                else await k.Call(target, null);
            }
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }, Deadline);
        var serverAfter = await machine.Execute(server, _ => Task.FromResult(GC.GetAllocatedBytesForCurrentThread()), Deadline);
        // On one core the caller's figure already holds the server's work.
        return caller == server ? (callerBytes, 0) : (callerBytes, serverAfter - serverBefore);
    }
}
