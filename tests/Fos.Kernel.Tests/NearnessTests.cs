using Fos.Kernel.Naming;

namespace Fos.Kernel.Tests;

/// <summary>Which member a lookup puts first: the same core, then the fewest mesh hops on the same machine, then other machines.</summary>
public sealed class NearnessTests
{
    private static Endpoint At(ushort machine, ushort core) => new(new Address(machine, core, 1), new Capability(1, 1));

    [Fact]
    public void Members_are_ordered_by_mesh_hops_not_by_how_far_apart_their_numbers_are()
    {
        // On a mesh 4 wide, core 4 sits right below core 0 and core 8 right below it; core 3 is at the far end of row 0.
        var sorted = Nearness.Sort([At(1, 3), At(1, 8), At(1, 4), At(2, 4)], new CoreId(1, 4));
        Assert.Equal([(1, 4), (1, 8), (1, 3), (2, 4)], sorted.Select(m => ((int)m.Address.Machine, (int)m.Address.Core)));
        Assert.Equal(1, Nearness.Hops(4, 8));
        Assert.Equal(4, Nearness.Hops(4, 3));
    }

    [Fact]
    public void Another_machine_is_farther_than_any_core_of_this_one()
    {
        var far = Nearness.Distance(new CoreId(1, 0), new Address(1, 4095, 1));
        var near = Nearness.Distance(new CoreId(1, 0), new Address(2, 0, 1));
        Assert.True(far < near);
    }
}
