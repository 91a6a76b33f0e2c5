using Fos.Kernel;
using Fos.Kernel.Processes;
using Fos.Protocols.Processes;
using Fos.Protocols.FileSystem;
using Fos.Protocols.Memory;
using Fos.Runtime;
using Fos.Services;
using Fos.Services.Memory;
using Fos.Services.Processes;
using Fos.Simulation;
using Fos.Sys;

namespace Fos.Sys.Tests;

/// <summary>The memory fleet: pages split by range, borrowed between members, owned by processes.</summary>
public sealed class MemoryTests : TestSystems
{

    private async Task<IFosRuntime> Boot(string kind, long pages)
    {
        var system = Create(kind, cores: 4, seed: 4);
        await SystemBoot.StartNaming(system);
        await SystemBoot.StartMemory(system, [system.Cores[1], system.Cores[2]], pages);
        return system;
    }

    [Theory]
    [MemberData(nameof(Both))]
    public async Task A_member_that_runs_dry_borrows_from_its_sibling_and_the_bytes_stay_put(string kind)
    {
        await using var system = await Boot(kind, pages: 32);
        var (text, usage) = await system.Execute(system.Cores[1], async _ =>
        {
            // 24 pages from the member on this core, which has 16: it takes the rest from its sibling.
            var buffer = await FosMemory.AllocateAsync(24 * FosMemory.PageSize - 100);
            "across a page boundary"u8.CopyTo(buffer.Memory.Span[(FosMemory.PageSize - 3)..]);
            var back = buffer.Memory.Span.Slice(FosMemory.PageSize - 3, 22).ToArray();
            return (System.Text.Encoding.UTF8.GetString(back), await FosMemory.UsageAsync());
        }, TimeSpan.FromSeconds(30));
        Assert.Equal("across a page boundary", text);
        Assert.Equal(24, usage.Sum(u => u.AllocatedPages));
        Assert.Equal(32, usage.Sum(u => u.FreePages + u.AllocatedPages)); // no page lost or made up
    }

    [Theory]
    [MemberData(nameof(Both))]
    public async Task Asking_for_more_than_the_fleet_has_is_ENOMEM_nothing_is_EINVAL_and_a_freed_buffer_is_EBADF(string kind)
    {
        await using var system = await Boot(kind, pages: 8);
        var errors = await system.Execute(system.Cores[0], async _ =>
        {
            var seen = new List<Errno>();
            async Task Expect(Func<Task> call)
            {
                try
                {
                    await call();
                }
                catch (FosIOException ex)
                {
                    seen.Add(ex.Errno);
                }
            }
            await Expect(() => FosMemory.AllocateAsync(100 * FosMemory.PageSize));
            await Expect(() => FosMemory.AllocateAsync(0));
            var buffer = await FosMemory.AllocateAsync(100);
            Assert.Equal(100, buffer.Memory.Length);
            Assert.True(buffer.Memory.Span.IndexOfAnyExcept((byte)0) < 0); // pages come zeroed
            await buffer.FreeAsync();
            await Expect(buffer.FreeAsync);
            try
            {
                KernelContext.Current.MapMemory(buffer.Token, 100); // unmapped, and revoked: gone
            }
            catch (FosException ex) when (ex.Code == "EBADF")
            {
                seen.Add(Errno.EBADF);
            }
            return seen;
        }, TimeSpan.FromSeconds(30));
        Assert.Equal([Errno.ENOMEM, Errno.EINVAL, Errno.EBADF, Errno.EBADF], errors);

        // Only the core a buffer was granted to may share it.
        var buffer = await system.Execute(system.Cores[0], _ => FosMemory.AllocateAsync(100), TimeSpan.FromSeconds(30));
        var stranger = await system.Execute(system.Cores[3], async _ =>
        {
            try
            {
                await FosNames.CallAsync<MemShared>(buffer.Member, new MemShare(buffer.Id, system.Cores[3]));
                return "shared";
            }
            catch (FosException ex)
            {
                return ex.Code;
            }
        }, TimeSpan.FromSeconds(30));
        Assert.Equal("EBADF", stranger);
    }

    [Fact]
    public async Task What_a_process_allocated_goes_back_when_it_ends_even_if_it_threw()
    {
        await using var system = new SimulatedSystem(new SimOptions { Seed = 4, CoresPerMachine = 4 });
        await SystemBoot.StartSystem(system);
        var leaky = new AppProgram("leaky", async _ =>
        {
            await FosMemory.AllocateAsync(10 * FosMemory.PageSize);
            await FosMemory.AllocateAsync(5 * FosMemory.PageSize);
            throw new InvalidOperationException("forgot to free");
        });
        var (state, after) = await system.Execute(system.Cores[0], async _ =>
        {
            var exit = await FosProcess.WaitAsync(await FosProcess.StartAsync(leaky));
            return (exit.State, (await FosMemory.UsageAsync()).Sum(u => u.AllocatedPages));
        }, TimeSpan.FromSeconds(30));
        Assert.Equal(ProcState.Failed, state);
        Assert.Equal(0, after);
    }
}

/// <summary>The memory fleet grows and shrinks while buffers are in use, and no page or byte is lost.</summary>
public class MemoryElasticityTests
{
    [Fact]
    public async Task Adding_and_removing_a_member_loses_no_page_and_no_byte()
    {
        await using var system = new SimulatedSystem(new SimOptions { Seed = 8, CoresPerMachine = 4 });
        var cores = system.Cores;
        await SystemBoot.StartNaming(system);
        await SystemBoot.StartMemory(system, [cores[1], cores[2]], pages: 40);
        var buffers = await system.Execute(cores[1], async _ =>
        {
            var made = new List<FosBuffer>();
            for (var i = 0; i < 5; i++)
            {
                var buffer = await FosMemory.AllocateAsync(3 * FosMemory.PageSize);
                System.Text.Encoding.UTF8.GetBytes($"buffer {i}").CopyTo(buffer.Memory.Span[(FosMemory.PageSize + i)..]);
                made.Add(buffer);
            }
            return made;
        });

        await MemFleet.AddMember(system, cores[3], cores[0]);
        await MemFleet.RemoveMember(system, 0, cores[0]); // the member on m1.c1, which made every buffer

        var texts = await system.Execute(cores[1], async _ =>
        {
            // The bytes never moved (they are the holder's memory); the heir frees what the leaver granted.
            var read = buffers.Select((b, i) => System.Text.Encoding.UTF8.GetString(b.Memory.Span.Slice(FosMemory.PageSize + i, 8))).ToList();
            await buffers[0].FreeAsync();
            return read;
        });
        var (usage, fresh) = await system.Execute(cores[3], async _ =>
        {
            var more = await FosMemory.AllocateAsync(10 * FosMemory.PageSize); // the new member borrows
            return (await FosMemory.UsageAsync(), more.Member.Address.CoreId);
        });
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"buffer {i}"), texts);
        Assert.Equal(40, usage.Sum(u => u.FreePages + u.AllocatedPages));
        Assert.Equal(22, usage.Sum(u => u.AllocatedPages));
        Assert.Equal(cores[3], fresh);
        Assert.DoesNotContain(usage, u => u.Member == 0);
    }
}
