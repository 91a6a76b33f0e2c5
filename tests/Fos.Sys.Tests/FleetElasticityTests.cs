using System.Text;
using Fos.Kernel;
using Fos.Kernel.Processes;
using Fos.Protocols.Processes;
using Fos.Protocols.FileSystem;
using Fos.Runtime;
using Fos.Services;
using Fos.Services.FileSystem;
using Fos.Services.Processes;
using Fos.Simulation;
using Fos.Sys;

namespace Fos.Sys.Tests;

/// <summary>
/// The file-system fleet grows from two members to three and shrinks back to two while a program
/// writes files and appends to a file it keeps open; afterwards every file and every appended line
/// is there, and the shards are spread over the members that remain.
/// </summary>
public sealed class FleetElasticityTests : TestSystems
{

    private const int Files = 120;

    private static readonly AppProgram Load = new("load", async _ =>
    {
        await using var log = await FosFile.OpenAsync("/load/log", FileMode.Create, FileAccess.Write);
        for (var i = 0; i < Files; i++)
        {
            await FosDirectory.CreateDirectoryAsync($"/load/d{i % 8}");
            await FosDirectory.CreateDirectoryAsync($"/load/d{(i + 3) % 8}");
            // Written in one directory and renamed into another: renames that span shards, while shards move.
            await FosFile.WriteAllTextAsync($"/load/d{(i + 3) % 8}/new{i}", $"file {i} " + new string('x', i * 37));
            await FosPosix.Rename($"/load/d{(i + 3) % 8}/new{i}", $"/load/d{i % 8}/f{i}");
            await log.WriteAsync(Encoding.UTF8.GetBytes($"line {i}\n"));
            await log.FlushAsync();
        }
        return 0;
    });

    [Theory]
    [MemberData(nameof(Both))]
    public async Task Adding_and_removing_a_member_under_load_loses_no_file(string kind)
    {
        var system = Create(kind, cores: 4, seed: 11);
        await using var _ = system;
        var cores = system.Cores;
        var layout = await SystemBoot.StartSystem(system); // file-system members on m1.c0 and m1.c1; programs on c2 and c3
        var coordinator = cores[0];

        var pid = await system.Execute(coordinator, async __ =>
        {
            await FosDirectory.CreateDirectoryAsync("/load");
            return await FosProcess.StartAsync(Load);
        });
        var fleet = layout.FileSystem[1].Peer;
        var added = await FsFleet.AddMember(system, layout.ApplicationCores[^1], coordinator, fleet);
        await FsFleet.RemoveMember(system, 0, coordinator, fleet);
        var exit = await system.Execute(coordinator, __ => FosProcess.WaitAsync(pid), TimeSpan.FromMinutes(2));
        Assert.True(exit.State == ProcState.Exited, exit.Error);

        var (missing, log, owners) = await system.Execute(coordinator, async k =>
        {
            var wrong = new List<string>();
            for (var i = 0; i < Files; i++)
            {
                var path = $"/load/d{i % 8}/f{i}";
                if (await FosFile.ReadAllTextAsync(path) != $"file {i} " + new string('x', i * 37)) wrong.Add(path);
            }
            var tree = await FsTestKit.Walk(); // one tree: every inode under exactly one name
            wrong.AddRange(tree.Files.Values.Where(p => p.Contains("/new", StringComparison.Ordinal)));
            var view = await k.Call<FsFleetView>(fleet, new FsFleetState());
            return (wrong, await FosFile.ReadAllTextAsync("/load/log"), view.ShardOwners);
        }, TimeSpan.FromMinutes(2));
        Assert.Empty(missing);
        Assert.Equal(string.Concat(Enumerable.Range(0, Files).Select(i => $"line {i}\n")), log);
        Assert.Equal(2, added);
        Assert.DoesNotContain(0, owners);
        Assert.Equal([1, 2], owners.Distinct().Order());
        Assert.InRange(owners.Count(o => o == 1), 24, 40);
    }
}
