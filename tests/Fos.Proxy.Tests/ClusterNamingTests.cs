using Fos.Kernel;
using Fos.Kernel.Naming;

namespace Fos.Proxy.Tests;

/// <summary>
/// Names across simulated machines, each with a naming server holding a replica of the cluster's
/// directory: a name registered on one machine is found from every other, nearest member first; a
/// kernel that cached a name hears when it is rebound elsewhere; a machine cut off from the
/// majority cannot change the directory, and catches up once the cut heals.
/// </summary>
public sealed class ClusterNamingTests
{
    private static Task<Endpoint> Register(Cluster cluster, ushort machine, string name) =>
        cluster.On(Cluster.Core(machine, 1), async k =>
        {
            await k.Register(name, cluster.Echo[machine]);
            return cluster.Echo[machine];
        });

    [Fact]
    public async Task A_name_registered_on_one_machine_is_found_and_called_from_the_others()
    {
        var cluster = await Cluster.Boot(machines: 3, namingOnEveryMachine: true);
        await Register(cluster, 2, "/app/echo");
        foreach (ushort machine in new ushort[] { 1, 3 })
        {
            var answer = await cluster.On(Cluster.Core(machine, 1), async k => await k.Call(await k.Lookup("/app/echo"), $"from m{machine}"));
            Assert.Equal($"from m{machine}", answer);
        }
        // With a member on its own machine too, each machine is given its own first.
        await Register(cluster, 1, "/app/echo");
        cluster.System.RunFor(TimeSpan.FromMilliseconds(1)); // the other replicas apply it a network crossing later
        var fromOne = await cluster.On(Cluster.Core(1, 0), k => k.LookupAll("/app/echo").AsTask());
        var fromTwo = await cluster.On(Cluster.Core(2, 0), k => k.LookupAll("/app/echo").AsTask());
        Assert.Equal([(ushort)1, (ushort)2], fromOne.Members.Select(m => m.Address.Machine));
        Assert.Equal([(ushort)2, (ushort)1], fromTwo.Members.Select(m => m.Address.Machine));
        Assert.Equal(fromOne.Version, fromTwo.Version); // every replica applied the same changes
    }

    [Fact]
    public async Task A_kernel_that_cached_a_name_hears_when_another_machine_withdraws_it()
    {
        var cluster = await Cluster.Boot(machines: 2, namingOnEveryMachine: true);
        var member = await Register(cluster, 2, "/app/once");
        Assert.Equal(member, await cluster.On(Cluster.Core(1, 1), k => k.Lookup("/app/once").AsTask()));
        Assert.True(cluster.System.Kernel(Cluster.Core(1, 1)).IsCached("/app/once"));
        await cluster.On(Cluster.Core(2, 1), k => k.Unregister("/app/once", member));
        cluster.System.RunFor(TimeSpan.FromMilliseconds(5));
        Assert.False(cluster.System.Kernel(Cluster.Core(1, 1)).IsCached("/app/once"));
        var error = await Assert.ThrowsAsync<FosException>(() => cluster.On(Cluster.Core(1, 1), k => k.Lookup("/app/once").AsTask()));
        Assert.Equal(FosError.NoSuchName, error.Error);
    }

    [Fact]
    public async Task A_machine_cut_off_from_the_majority_cannot_change_names_and_catches_up_after()
    {
        var cluster = await Cluster.Boot(machines: 3, namingOnEveryMachine: true);
        cluster.System.Partition(1, 3);
        cluster.System.Partition(2, 3);
        var refused = await Assert.ThrowsAsync<FosException>(() => Register(cluster, 3, "/app/lonely"));
        Assert.Equal(FosError.MachineDown, refused.Error);
        Assert.Contains("no majority", refused.Message);
        await Register(cluster, 1, "/app/majority"); // m1 and m2 are a majority
        Assert.Empty((await cluster.On(Cluster.Core(3, 0), k => k.LookupAll("/app/majority").AsTask())).Members); // not yet here
        cluster.System.Heal(1, 3);
        cluster.System.Heal(2, 3);
        cluster.System.RunFor(TimeSpan.FromMilliseconds(5));
        var seen = await cluster.On(Cluster.Core(3, 0), k => k.LookupAll("/app/majority").AsTask());
        Assert.Equal((ushort)1, Assert.Single(seen.Members).Address.Machine);
        Assert.Empty((await cluster.On(Cluster.Core(1, 0), k => k.LookupAll("/app/lonely").AsTask())).Members); // it never committed
    }

    [Fact]
    public async Task A_lost_machines_names_are_withdrawn_and_those_of_one_that_was_only_cut_off_come_back()
    {
        var cluster = await Cluster.Boot(machines: 3, namingOnEveryMachine: true);
        foreach (ushort machine in new ushort[] { 2, 3 }) await Register(cluster, machine, "/app/echo");
        cluster.System.RunFor(TimeSpan.FromMilliseconds(1));
        Assert.Equal([(ushort)2, (ushort)3], (await cluster.On(Cluster.Core(1, 0), k => k.LookupAll("/app/echo").AsTask())).Members.Select(m => m.Address.Machine));

        // m3 cut off for longer than a machine is given: the others withdraw its names; healed, they come back.
        cluster.System.Partition(1, 3);
        cluster.System.Partition(2, 3);
        cluster.System.RunFor(TimeSpan.FromSeconds(3));
        Assert.Equal([(ushort)2], (await cluster.On(Cluster.Core(1, 0), k => k.LookupAll("/app/echo").AsTask())).Members.Select(m => m.Address.Machine));
        cluster.System.Heal(1, 3);
        cluster.System.Heal(2, 3);
        cluster.System.RunFor(TimeSpan.FromMilliseconds(500));
        Assert.Equal([(ushort)2, (ushort)3], (await cluster.On(Cluster.Core(1, 0), k => k.LookupAll("/app/echo").AsTask())).Members.Select(m => m.Address.Machine));

        // m2 dies: within three seconds its name is gone, and calls through the name reach m3.
        cluster.System.CrashMachine(2);
        cluster.System.RunFor(TimeSpan.FromSeconds(3));
        var left = await cluster.On(Cluster.Core(1, 0), k => k.LookupAll("/app/echo").AsTask());
        Assert.Equal([(ushort)3], left.Members.Select(m => m.Address.Machine));
        Assert.Equal("m3 answers", await cluster.On(Cluster.Core(1, 1), async k => await k.Call(await k.Lookup("/app/echo"), "m3 answers")));
    }

    [Fact]
    public async Task The_same_seed_commits_the_same_directory_in_the_same_order()
    {
        async Task<string> Run()
        {
            var cluster = await Cluster.Boot(machines: 3, seed: 7, namingOnEveryMachine: true);
            foreach (ushort machine in new ushort[] { 3, 1, 2 }) await Register(cluster, machine, $"/app/m{machine}");
            cluster.System.RunFor(TimeSpan.FromMilliseconds(5));
            return cluster.System.TraceDigest;
        }
        Assert.Equal(await Run(), await Run());
    }
}
