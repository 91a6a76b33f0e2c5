using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Protocols.FileSystem;
using Fos.Services;
using Fos.Services.FileSystem;
using Fos.Simulation;
using Fos.Sys;

namespace Fos.Sys.Tests;

/// <summary>
/// The file-system fleet on the simulated disk, which loses what was not synced when a core dies.
/// A client appends to files and fsyncs now and then; at a time the seed picks, the core of one
/// member crashes in the middle of it. A replacement member takes over the dead one's store, and
/// every byte the client saw fsynced must be there, and nothing that is there may be wrong.
/// </summary>
public class CrashDurabilityTests
{
    private const int Files = 6;
    private const int Chunk = 3000;

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    [InlineData(4UL)]
    [InlineData(5UL)]
    public async Task Every_fsynced_byte_survives_a_member_crashing_mid_write(ulong seed)
    {
        await using var system = new SimulatedSystem(new SimOptions { Seed = seed, CoresPerMachine = 5 });
        await SystemBoot.StartNaming(system);
        var memberCores = system.Cores.Skip(1).Take(3).ToList();
        var members = await SystemBoot.StartFileSystem(system, memberCores);
        var client = system.Cores[0];
        // The member that dies is the one keeping /d0, so the crash always hits a file being written.
        var victim = await system.Execute(client, async _ =>
        {
            for (var f = 0; f < Files; f++) await FosDirectory.CreateDirectoryAsync($"/d{f}");
            return FsStore.ShardOf((await FosFile.StatAsync("/d0")).Inode) % memberCores.Count;
        });

        // The crash comes at a seeded moment within the writing below: in a seeded round, a seeded
        // number of microseconds later (mid-write or mid-sync, as it falls).
        var crashRound = 3 + (int)(seed % 20);
        var crashDelay = TimeSpan.FromMicroseconds((long)(seed * 7919 % 250));
        var synced = await system.Execute(client, async k =>
        {
            var durable = new long[Files];
            var written = new long[Files];
            var dead = new bool[Files];
            var files = new FsOpened?[Files];
            for (var round = 0; round < 40; round++)
            {
                if (round == crashRound) system.At(crashDelay, () => system.CrashCore(memberCores[victim]));
                for (var f = 0; f < Files; f++)
                {
                    if (dead[f]) continue;
                    try
                    {
                        files[f] ??= await FosPosix.Open($"/d{f}/log", new FsOpenFlags(Create: true, Write: true));
                        await FosPosix.PWrite(files[f]!, written[f], Pattern(f, written[f], Chunk));
                        written[f] += Chunk;
                        if (round % 3 == 2)
                        {
                            await FosPosix.FSync(files[f]!);
                            durable[f] = written[f];
                        }
                    }
                    catch (FosException ex) when (ex.Error is FosError.Timeout or FosError.NoSuchMailbox)
                    {
                        dead[f] = true; // its member is gone; what it had synced must still be there
                    }
                }
            }
            return (durable, dead);
        });
        Assert.Contains(true, synced.dead); // the crash did land in the middle of the writing

        // A replacement takes the dead member's place and store; every member learns of it.
        var survivor = members[(victim + 1) % members.Length].Peer;
        var replacement = await FsFleet.Replace(system, victim, system.Cores[4], survivor);

        var contents = await system.Execute(client, async _ =>
        {
            var result = new byte[Files][];
            for (var f = 0; f < Files; f++)
                result[f] = await FosFile.ExistsAsync($"/d{f}/log") ? await FosFile.ReadAllBytesAsync($"/d{f}/log") : [];
            return result;
        });
        for (var f = 0; f < Files; f++)
        {
            Assert.True(contents[f].Length >= synced.durable[f],
                $"/d{f}/log has {contents[f].Length} bytes but {synced.durable[f]} were fsynced (seed {seed})");
            Assert.True(contents[f].AsSpan().SequenceEqual(Pattern(f, 0, contents[f].Length)), $"/d{f}/log holds bytes nobody wrote (seed {seed})");
        }
        var now = members.ToArray();
        now[victim] = replacement;
        var cores = memberCores.ToArray();
        cores[victim] = system.Cores[4];
        await FsTestKit.FsckStopped(system, now, cores, client, $"(seed {seed})");
    }

    private static byte[] Pattern(int file, long offset, int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++) bytes[i] = (byte)((offset + i) * 31 + file * 7);
        return bytes;
    }
}
