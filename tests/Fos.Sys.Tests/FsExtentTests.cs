using Fos.Kernel.Storage;
using Fos.Protocols.FileSystem;
using Fos.Services.FileSystem;
using static Fos.Sys.Tests.FsTestKit;

namespace Fos.Sys.Tests;

/// <summary>
/// Files that grow past one block keep their data in their member's extent instead of the
/// engine's log. Checked against a byte-array model: writes that cross the move at odd offsets,
/// holes, cuts and regrowth; the extent gone once the file is; a crash that loses what was not
/// synced; a shard moved to another member with its big files.
/// </summary>
public class FsExtentTests
{
    private const int Members = 2;
    private static readonly int Block = FsLimits.BlockSize;

    /// <summary>A file's bytes as the model says they must be, after the same writes and cuts.</summary>
    private sealed class Model
    {
        public byte[] Bytes = [];

        public void Write(long offset, byte[] data)
        {
            if (offset + data.Length > Bytes.Length) Array.Resize(ref Bytes, (int)(offset + data.Length));
            data.CopyTo(Bytes, offset);
        }

        public void Cut(long length)
        {
            var old = Bytes;
            Bytes = new byte[length];
            old.AsSpan(0, (int)Math.Min(old.Length, length)).CopyTo(Bytes);
        }
    }

    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static async Task<byte[]> ReadAll(FsOpened file, long size)
    {
        var all = new List<byte>();
        for (long at = 0; at < size;)
        {
            var part = await FosPosix.PRead(file, at, 100_000); // not a multiple of anything
            if (part.Length == 0) break;
            all.AddRange(part);
            at += part.Length;
        }
        return [.. all];
    }

    [Fact]
    public async Task A_file_that_grows_past_one_block_reads_back_as_written_through_holes_cuts_and_regrowth()
    {
        await using var booted = await BootSim(7, Members, clients: 1);
        await booted.System.Execute(booted.Clients[0], async _ =>
        {
            var model = new Model();
            var file = await FosPosix.Open("/big", new FsOpenFlags(Create: true, Write: true));
            foreach (var (offset, length, seed) in new[] { (0L, 1000, 1), (Block - 10L, 30, 2), (3L * Block + 7, 5000, 3), (100L, 200, 4), (5L * Block, Block, 5) })
            {
                var data = Pattern(length, seed);
                await FosPosix.PWrite(file, offset, data); // the second write crosses one block: the data moves
                model.Write(offset, data);
                Assert.Equal(model.Bytes, await ReadAll(file, model.Bytes.Length));
            }
            Assert.Equal(model.Bytes.Length, (await FosPosix.Stat("/big")).Size);
            await FosPosix.FTruncate(file, 2L * Block + 5);
            model.Cut(2L * Block + 5);
            await FosPosix.FTruncate(file, 4L * Block); // regrown: zeros, not the bytes that were cut
            model.Cut(4L * Block);
            await FosPosix.PWrite(file, 6L * Block, [9]); // past the end: a hole, then one byte
            model.Write(6L * Block, [9]);
            Assert.Equal(model.Bytes, await ReadAll(file, model.Bytes.Length));
            await FosPosix.Close(file);
            Assert.Equal(model.Bytes, await FosFile.ReadAllBytesAsync("/big"));

            // A small file stays in blocks; a big one opened with truncate starts again from nothing.
            await FosFile.WriteAllBytesAsync("/small", Pattern(Block, 6));
            Assert.Equal(Pattern(Block, 6), await FosFile.ReadAllBytesAsync("/small"));
            await FosFile.WriteAllBytesAsync("/big", Pattern(10, 7));
            Assert.Equal(Pattern(10, 7), await FosFile.ReadAllBytesAsync("/big"));
            return true;
        });
        await FsckStopped(booted.System, booted.Members, booted.MemberCores, booted.Clients[0]);
    }

    /// <summary>
    /// A stream read in order reads ahead; what it reads matches the file whatever the pattern
    /// (in order, after a seek, across the end), and a write or cut through the same stream is
    /// never hidden behind a read made ahead of it.
    /// </summary>
    [Fact]
    public async Task A_stream_that_reads_ahead_reads_what_the_file_holds_and_sees_its_own_writes()
    {
        await using var booted = await BootSim(13, Members, clients: 1);
        await booted.System.Execute(booted.Clients[0], async _ =>
        {
            var model = Pattern(5 * Block + 300, 1);
            await FosFile.WriteAllBytesAsync("/big", model);
            await using var stream = await FosFile.OpenAsync("/big", FileMode.Open, FileAccess.ReadWrite);
            var buffer = new byte[Block];
            async Task Expect(long at)
            {
                stream.Position = at;
                var n = await stream.ReadAsync(buffer);
                Assert.Equal(model.AsSpan((int)at, (int)Math.Min(Block, model.Length - at)).ToArray(), buffer[..n]);
            }
            await Expect(0); // and the next block is asked for ahead
            await Expect(Block);
            await stream.WriteAsync(Pattern(100, 2)); // lands where the read ahead was
            Pattern(100, 2).CopyTo(model, 2 * Block);
            await Expect(2 * Block);
            await Expect(3 * Block);
            await stream.SetLengthAsync(4 * Block + 10); // cuts what was read ahead
            model = model[..(4 * Block + 10)];
            await Expect(4 * Block);
            await Expect(Block / 2); // a seek back, off the blocks' edges
            stream.Position = 0;
            var all = new MemoryStream();
            await stream.CopyToAsync(all, Block); // in order to the end
            Assert.Equal(model, all.ToArray());
            return true;
        });
    }

    /// <summary>
    /// A careless reader lends a buffer of the wrong size, or none: the member answers with a new
    /// array, and never writes past what it was lent. A buffer of the right size comes back filled.
    /// A lent buffer never crosses a process or a machine: the wire does not carry it.
    /// </summary>
    [Fact]
    public async Task A_lent_read_buffer_is_used_only_when_it_fits_and_never_travels()
    {
        await using var booted = await BootSim(14, Members, clients: 1);
        await booted.System.Execute(booted.Clients[0], async k =>
        {
            var data = Pattern(3 * Block, 1);
            await FosFile.WriteAllBytesAsync("/big", data);
            var file = await FosPosix.Open("/big", new FsOpenFlags());
            async Task<byte[]> Read(long at, int count, byte[]? into) =>
                (byte[])(await k.Call(file.Server, new FsRead(file.Handle, at, count) { Into = into }))!;
            var small = new byte[10];
            var got = await Read(0, 100, small);
            Assert.NotSame(small, got);
            Assert.Equal(new byte[10], small); // untouched
            Assert.Equal(data[..100], got);
            var fits = new byte[Block];
            Assert.Same(fits, await Read(Block, Block, fits));
            Assert.Equal(data[Block..(2 * Block)], fits);
            var tail = new byte[Block];
            var end = await Read(3 * Block - 5, Block, tail); // only 5 bytes are left
            Assert.Equal(data[^5..], end);
            Assert.Equal(new byte[Block], tail);
            await FosPosix.Close(file);

            var wire = Fos.Protocols.Wire.WireCodec.Read(Fos.Protocols.Wire.WireCodec.ToArray(new FsRead(file.Handle, 0, 4) { Into = new byte[4] }));
            Assert.Null(Assert.IsType<FsRead>(wire).Into);
            return true;
        });
    }

    [Fact]
    public async Task Removing_a_big_file_deletes_its_extent_and_fsck_knows_extents()
    {
        await using var booted = await BootSim(8, Members, clients: 1);
        await booted.System.Execute(booted.Clients[0], async _ =>
        {
            await FosFile.WriteAllBytesAsync("/big", Pattern(3 * Block, 1));
            await FosFile.WriteAllBytesAsync("/kept", Pattern(2 * Block + 1, 2));
            await FosPosix.Unlink("/big");
            await FosFile.WriteAllBytesAsync("/after", new byte[] { 1 });
            return true;
        });
        // fsck names any extent that no file claims: the removed file's went with it.
        var checker = await FsckStopped(booted.System, booted.Members, booted.MemberCores, booted.Clients[0]);
        Assert.Equal(2 * Block + 1 + 1, checker.Bytes);
        Assert.Equal(2, checker.Files);
    }

    [Fact]
    public async Task Fsck_finds_an_extent_without_its_file_and_a_file_without_its_bytes_and_repair_drops_the_stray()
    {
        await using var booted = await BootSim(9, Members, clients: 1);
        var inode = await booted.System.Execute(booted.Clients[0], async _ =>
        {
            await FosFile.WriteAllBytesAsync("/big", Pattern(2 * Block, 1));
            return (await FosPosix.Stat("/big")).Inode;
        });
        var member = MemberOf(inode, Members);
        foreach (var m in booted.Members)
            await booted.System.Execute(booted.Clients[0], async k =>
            {
                await k.Stop(m.Public);
                return true;
            });
        var stores = new List<IStore>();
        for (var i = 0; i < Members; i++)
        {
            var name = $"fs/member-{i}";
            stores.Add(await booted.System.Execute(booted.MemberCores[i], k => Task.FromResult(k.OpenStore(name))));
        }
        stores[member].Extents.Write(12345, 0, [1, 2, 3]); // nobody's
        stores[member].Extents.SetLength(inode, Block); // the file says two blocks
        var checker = new FsChecker(stores).Check();
        Assert.Contains(checker.Problems, p => p.Contains("extent 12345", StringComparison.Ordinal));
        Assert.Contains(checker.Problems, p => p.Contains($"inode {inode} is {2 * Block} bytes, but its extent holds only {Block}", StringComparison.Ordinal));
        checker.Repair();
        Assert.DoesNotContain(12345L, stores[member].Extents.List());
    }

    [Fact]
    public async Task A_crash_keeps_what_was_synced_of_a_big_file_and_the_file_agrees_with_its_extent()
    {
        await using var booted = await BootSim(10, Members, clients: 2, spares: 1);
        var system = booted.System;
        var (inode, synced) = await system.Execute(booted.Clients[0], async _ =>
        {
            var file = await FosPosix.Open("/big", new FsOpenFlags(Create: true, Write: true));
            var first = Pattern(3 * Block, 1);
            await FosPosix.PWrite(file, 0, first);
            await FosPosix.FSync(file);
            await FosPosix.PWrite(file, Block, Pattern(5 * Block, 2)); // overwrites and grows, never synced
            return ((await FosPosix.Stat("/big")).Inode, first);
        });
        var member = MemberOf(inode, Members);
        system.CrashCore(booted.MemberCores[member]);
        var survivor = booted.Members[(member + 1) % Members].Peer;
        var members = booted.Members.ToArray();
        members[member] = await FsFleet.Replace(system, member, booted.Spares[0], survivor);
        await system.Execute(booted.Clients[1], async _ =>
        {
            Assert.Equal(synced, await FosFile.ReadAllBytesAsync("/big"));
            return true;
        });
        var cores = booted.MemberCores.ToArray();
        cores[member] = booted.Spares[0];
        await FsckStopped(system, members, cores, booted.Clients[1]);
    }

    /// <summary>
    /// What a real engine can leave after a power loss (it may make a batch durable on its own,
    /// ahead of the extent it describes), staged by hand: a member that starts on it ends the
    /// file where its bytes end, and deletes an extent that no file claims.
    /// </summary>
    [Fact]
    public async Task A_member_that_starts_on_a_file_longer_than_its_extent_ends_the_file_where_its_bytes_end()
    {
        await using var booted = await BootSim(12, Members, clients: 1, spares: 2);
        var system = booted.System;
        var data = Pattern(2 * Block + 100, 1);
        var inode = await system.Execute(booted.Clients[0], async _ =>
        {
            await FosFile.WriteAllBytesAsync("/big", data);
            return (await FosPosix.Stat("/big")).Inode;
        });
        var member = MemberOf(inode, Members);
        system.CrashCore(booted.MemberCores[member]);
        await system.Execute(booted.Spares[1], async k =>
        {
            using var store = k.OpenStore($"fs/member-{member}");
            store.Extents.SetLength(inode, Block + 7); // the rest of the bytes never reached the disk
            store.Extents.Write(777_777, 0, [1]); // and an extent of a file whose creation did not
            await store.Sync();
            return true;
        });
        var members = booted.Members.ToArray();
        members[member] = await FsFleet.Replace(system, member, booted.Spares[0], booted.Members[(member + 1) % Members].Peer);
        await system.Execute(booted.Clients[0], async _ =>
        {
            Assert.Equal(Block + 7, (await FosPosix.Stat("/big")).Size);
            Assert.Equal(data[..(Block + 7)], await FosFile.ReadAllBytesAsync("/big"));
            return true;
        });
        var cores = booted.MemberCores.ToArray();
        cores[member] = booted.Spares[0];
        await FsckStopped(system, members, cores, booted.Clients[0]); // the stray extent is gone too
    }

    [Fact]
    public async Task A_big_file_moves_with_its_shard_to_another_member()
    {
        await using var booted = await BootSim(11, Members, clients: 1);
        var system = booted.System;
        var data = Pattern(3 * Block + 17, 3);
        var inode = await system.Execute(booted.Clients[0], async _ =>
        {
            await FosFile.WriteAllBytesAsync("/big", data);
            return (await FosPosix.Stat("/big")).Inode;
        });
        var (shard, from) = (FsStore.ShardOf(inode), MemberOf(inode, Members));
        var to = (from + 1) % Members;
        await system.Execute(booted.Clients[0], async k =>
        {
            await k.Call(booted.Members[from].Peer, new FsMoveShard(shard, to));
            Assert.Equal(data, await FosFile.ReadAllBytesAsync("/big"));
            // It keeps working where it went: it grows there, into an extent of the new member's.
            await using (var stream = await FosFile.OpenAsync("/big", FileMode.Append, FileAccess.Write))
                await stream.WriteAsync(Pattern(Block, 4));
            byte[] grown = [.. data, .. Pattern(Block, 4)];
            Assert.Equal(grown, await FosFile.ReadAllBytesAsync("/big"));
            return true;
        });
        // fsck names any extent that no file claims: the old member's copy went once the move was durable.
        var checker = await FsckStopped(system, booted.Members, booted.MemberCores, booted.Clients[0]);
        Assert.Equal(data.Length + Block, checker.Bytes);
    }
}
