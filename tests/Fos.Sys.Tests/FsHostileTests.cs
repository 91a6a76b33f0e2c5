using System.Text;
using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Protocols.FileSystem;
using Fos.Services.FileSystem;
using static Fos.Sys.Tests.FsTestKit;

namespace Fos.Sys.Tests;

/// <summary>
/// A client that does not play by the rules: fleet messages sent to the public mailbox, handles of
/// others, guessed handles, malformed requests, too many handles, huge directories. Each gets a
/// clear refusal, and the fleet keeps serving everyone else.
/// </summary>
public class FsHostileTests
{
    private const int Members = 3;

    private static Task<Booted> Boot(ulong seed = 11) => BootSim(seed, Members, clients: 2);

    private static async Task<FosException> Refused(IKernel kernel, Endpoint to, object? request)
    {
        var ex = await Assert.ThrowsAsync<FosException>(() => kernel.Call(to, request).AsTask());
        return ex;
    }

    private static async Task<long> RefusedSoFar(IKernel kernel, FsMember[] members)
    {
        long total = 0;
        foreach (var member in members) total += (await kernel.Call<FsMemberCounters>(member.Peer, new FsMemberStats())).Refused;
        return total;
    }

    private static async Task<string?> Raw(IKernel kernel, Endpoint to, object request) =>
        await RawError(() => kernel.Call(to, request).AsTask());

    [Fact]
    public async Task Fleet_messages_sent_to_the_public_mailbox_are_refused_and_counted()
    {
        await using var booted = await Boot();
        var (system, members, client) = (booted.System, booted.Members, booted.Clients[0]);
        await system.Execute(client, async k =>
        {
            var @public = await k.Lookup(WellKnownNames.FileSystem);
            var mine = members.Single(m => m.Public == @public);
            var owners = (await k.Call<FsFleetView>(mine.Peer, new FsFleetState())).ShardOwners;
            object?[] hostile =
            [
                new FsConfigure(0, members, owners),
                new FsConfigure(0, [new FsMember(@public, @public)], owners, QuotaBytes: 0),
                new FsFleetState(),
                new FsMemberStats(),
                new FsMembers([members[0]]),
                new FsShardOwner(0, 2),
                new FsMoveShard(0, 1),
                new FsImportShard(0, [], [], Last: true),
                new FsQuiesce(),
                new FsCloseAllOf(client),
                new FsStoredFleet(0),
                new FsMemberAt(1, new FsMember(@public, @public)),
                "not a request at all",
                42L,
                null,
            ];
            var before = await RefusedSoFar(k, members);
            foreach (var request in hostile)
            {
                var ex = await Refused(k, @public, request);
                Assert.Equal(FosError.BadRequest, ex.Error);
            }
            Assert.Equal(before + hostile.Length, await RefusedSoFar(k, members));
            Assert.Equal(hostile.Length, (await k.Call<FsMemberCounters>(mine.Peer, new FsMemberStats())).Refused); // all at the member the name gave

            // Nothing of it took effect: the fleet is as it was and serves as before.
            var view = await k.Call<FsFleetView>(members[1].Peer, new FsFleetState());
            Assert.Equal(members, view.Members);
            Assert.Equal(owners, view.ShardOwners);
            Assert.Equal(FsNodeKind.Directory, (await FosPosix.Stat("/")).Kind);
            await FosFile.WriteAllTextAsync("/still", "serving");
            Assert.Equal("serving", await FosFile.ReadAllTextAsync("/still"));
            return true;
        });
    }

    /// <summary>
    /// Every message members send each other about shards, sent by a client to the public mailbox:
    /// each could make a name, take a lock, or act on another process's handle if it were taken.
    /// The list is checked against the protocol, so a new shard message cannot be left out.
    /// </summary>
    [Fact]
    public async Task Shard_messages_sent_to_the_public_mailbox_are_refused_and_act_on_nothing()
    {
        await using var booted = await Boot();
        var (system, members, client, other) = (booted.System, booted.Members, booted.Clients[0], booted.Clients[1]);
        var theirs = await system.Execute(other, async _ =>
        {
            var file = await FosPosix.Open("/theirs", new FsOpenFlags(Create: true, Write: true));
            await FosPosix.PWrite(file, 0, "kept"u8);
            return file;
        });
        await system.Execute(client, async k =>
        {
            var @public = await k.Lookup(WellKnownNames.FileSystem);
            const long Root = FsStore.RootInode;
            var victim = new Address(other.Machine, other.Core, 1);
            var entry = new FsEntry("theirs", FsNodeKind.File, theirs.Handle.Inode);
            object[] hostile =
            [
                new ShardLookup(Root, "theirs"),
                new ShardStat(Root),
                new ShardOpenAt(Root, "forged", new FsOpenFlags(Create: true, Write: true), victim),
                new ShardOpenInode(theirs.Handle.Inode, new FsOpenFlags(Write: true), victim),
                new ShardReadDir(Root, null, 10),
                new ShardMkdirAt(Root, "forged-dir"),
                new ShardEnsureDirectory(Root + 4096, 1, 0),
                new ShardRmdirAt(Root, "forged-dir"),
                new ShardRemoveDirectory(Root, 1, 0),
                new ShardUnlinkAt(Root, "theirs"),
                new ShardDropFile(theirs.Handle.Inode),
                new ShardRenameAt(Root, "stolen", Root, "theirs", entry, []),
                new ShardReserve(Root, "theirs", 1, theirs.Handle.Inode, 0),
                new ShardRelease(Root, "theirs", 1),
                new ShardUnlinkReserved(Root, "theirs", 1),
                new ShardLockRenames(1, 0),
                new ShardUnlockRenames(1),
                new ShardHandleOp(theirs.Handle.Inode, victim, new FsWrite(theirs.Handle, 0, "gone"u8.ToArray())),
                new FsTxRunning(1),
            ];
            var shardTypes = typeof(IShardRequest).Assembly.GetTypes()
                .Where(t => typeof(IShardRequest).IsAssignableFrom(t) && !t.IsInterface).Select(t => t.Name);
            Assert.Empty(shardTypes.Except(hostile.Select(h => h.GetType().Name))); // every shard message is tried

            var before = await RefusedSoFar(k, members);
            foreach (var request in hostile) Assert.Equal(FosError.BadRequest, (await Refused(k, @public, request)).Error);
            Assert.Equal(before + hostile.Length, await RefusedSoFar(k, members));

            // None of it acted: no new names, the file is whole and where it was, renames are not locked.
            Assert.Equal(["theirs"], (await FosDirectory.EntriesAsync("/")).Select(e => e.Name).Where(n => n != "lost+found"));
            Assert.Equal("kept", await FosFile.ReadAllTextAsync("/theirs"));
            await FosPosix.Mkdir("/moved-dir-source");
            await FosPosix.Mkdir("/target");
            await FosPosix.Rename("/moved-dir-source", "/target/moved"); // needs the rename lock: nobody holds it
            return true;
        });
    }

    [Fact]
    public async Task A_replacement_announced_for_no_slot_or_for_the_member_itself_is_refused_and_changes_nothing()
    {
        await using var booted = await Boot();
        var (system, members, client) = (booted.System, booted.Members, booted.Clients[0]);
        await system.Execute(client, async k =>
        {
            var stranger = new FsMember(members[0].Public, members[0].Public);
            foreach (var careless in new[] { new FsMemberAt(-1, stranger), new FsMemberAt(members.Length, stranger), new FsMemberAt(0, stranger) })
                Assert.Equal(FosError.BadRequest, (await Refused(k, members[0].Peer, careless)).Error);
            Assert.Equal(FosError.BadRequest, (await Refused(k, members[0].Peer, new FsMemberAt(1, null!))).Error);
            Assert.Equal(members, (await k.Call<FsFleetView>(members[0].Peer, new FsFleetState())).Members);
            Assert.Null(await k.Call(members[0].Peer, new FsStoredFleet(Members + 7))); // a store no member ever kept holds no fleet
            return true;
        });
    }

    [Fact]
    public async Task Another_core_cannot_use_or_close_a_handle_it_did_not_open()
    {
        await using var booted = await Boot();
        var (system, owner, thief) = (booted.System, booted.Clients[0], booted.Clients[1]);
        var opened = await system.Execute(owner, async _ =>
        {
            var file = await FosPosix.Open("/secret", new FsOpenFlags(Create: true, Write: true));
            await FosPosix.PWrite(file, 0, "mine"u8);
            return file;
        });
        await system.Execute(thief, async k =>
        {
            Assert.Equal(Errno.EBADF, await ErrnoOf(() => FosPosix.PRead(opened, 0, 10)));
            Assert.Equal(Errno.EBADF, await ErrnoOf(() => FosPosix.PWrite(opened, 0, "theirs"u8)));
            Assert.Equal(Errno.EBADF, await ErrnoOf(() => FosPosix.FTruncate(opened, 0)));
            Assert.Equal(Errno.EBADF, await ErrnoOf(() => FosPosix.FStat(opened)));
            Assert.Equal(Errno.EBADF, await ErrnoOf(() => FosPosix.FSync(opened)));
            Assert.Equal(Errno.EBADF, await ErrnoOf(() => FosPosix.Close(opened)));
            // Nor through another member than the one that keeps it.
            foreach (var member in booted.Members)
                Assert.Equal(nameof(Errno.EBADF), await Raw(k, member.Public, new FsRead(opened.Handle, 0, 10)));
            return true;
        });
        await system.Execute(owner, async _ =>
        {
            Assert.Equal("mine"u8.ToArray(), await FosPosix.PRead(opened, 0, 10));
            await FosPosix.PWrite(opened, 4, "!"u8);
            await FosPosix.Close(opened);
            Assert.Equal(Errno.EBADF, await ErrnoOf(() => FosPosix.Close(opened))); // closed once only
            Assert.Equal("mine!", await FosFile.ReadAllTextAsync("/secret"));
            return true;
        });
    }

    [Fact]
    public async Task Guessed_handles_are_EBADF()
    {
        await using var booted = await Boot();
        await booted.System.Execute(booted.Clients[0], async k =>
        {
            var real = await FosPosix.Open("/target", new FsOpenFlags(Create: true, Write: true));
            var random = new Random(5);
            FsHandle[] guesses =
            [
                real.Handle with { Id = 0 },
                real.Handle with { Id = -1 },
                real.Handle with { Id = real.Handle.Id + 1 },
                real.Handle with { Id = real.Handle.Id - 1 },
                real.Handle with { Inode = real.Handle.Inode + FsStore.Shards }, // the right id for another inode
                new FsHandle(FsStore.RootInode, real.Handle.Id),
                .. Enumerable.Range(0, 40).Select(_ => real.Handle with { Id = random.NextInt64(long.MaxValue) }),
            ];
            foreach (var guess in guesses)
            {
                Assert.Equal(nameof(Errno.EBADF), await Raw(k, real.Server, new FsRead(guess, 0, 1)));
                Assert.Equal(nameof(Errno.EBADF), await Raw(k, real.Server, new FsWrite(guess, 0, [1])));
                Assert.Equal(nameof(Errno.EBADF), await Raw(k, real.Server, new FsClose(guess)));
            }
            Assert.Equal(nameof(Errno.EBADF), await Raw(k, real.Server, new FsRead(null!, 0, 1)));
            Assert.Equal(nameof(Errno.EBADF), await Raw(k, real.Server, new FsClose(null!)));
            await FosPosix.PWrite(real, 0, "untouched"u8);
            await FosPosix.Close(real);
            Assert.Equal("untouched", await FosFile.ReadAllTextAsync("/target"));
            return true;
        });
    }

    [Fact]
    public async Task Malformed_requests_get_clear_errors_and_the_fleet_keeps_serving()
    {
        await using var booted = await Boot();
        await booted.System.Execute(booted.Clients[0], async k =>
        {
            var fs = await k.Lookup(WellKnownNames.FileSystem);
            await FosPosix.Mkdir("/dir");
            var file = await FosPosix.Open("/dir/file", new FsOpenFlags(Create: true, Write: true));
            var longPath = "/" + string.Join('/', Enumerable.Repeat(new string('n', 200), 25)); // 5025 bytes
            var longName = "/" + new string('x', 300);
            (object Request, string[] Allowed)[] cases =
            [
                (new FsStat(null!), ["ENOENT", "EINVAL"]),
                (new FsStat(""), ["ENOENT"]),
                (new FsStat("relative"), ["EINVAL"]),
                (new FsStat("/dir/../dir"), ["EINVAL"]),
                (new FsStat("/dir/./file"), ["EINVAL"]),
                (new FsStat("/a\0b"), ["EINVAL"]),
                (new FsStat("/\uD800bad"), ["EINVAL"]),
                (new FsStat("/bad\uDC00"), ["EINVAL"]),
                (new FsStat(longPath), ["ENAMETOOLONG"]),
                (new FsStat(longName), ["ENAMETOOLONG"]),
                (new FsStat("/" + new string('é', 130)), ["ENAMETOOLONG"]), // 130 characters, 260 bytes: a name's limit is in bytes
                // Past a directory the member walks by itself: the quick walk stops and the full one says why.
                (new FsStat("/dir/file/x"), ["ENOTDIR"]),
                (new FsStat("/dir/" + new string('x', 300)), ["ENAMETOOLONG"]),
                (new FsStat("/dir/fi\0le"), ["EINVAL"]),
                (new FsStat("/dir/.."), ["EINVAL"]),
                (new FsStat("/dir/caf\u00e9"), ["ENOENT"]),
                (new FsMkdir(longName), ["ENAMETOOLONG"]),
                (new FsMkdir("/dir/.."), ["EINVAL"]),
                (new FsMkdir(null!), ["ENOENT", "EINVAL"]),
                (new FsRmdir(null!), ["ENOENT", "EINVAL"]),
                (new FsUnlink(null!), ["ENOENT", "EINVAL"]),
                (new FsRename(null!, "/x"), ["ENOENT", "EINVAL"]),
                (new FsRename("/dir/file", null!), ["ENOENT", "EINVAL"]),
                (new FsRename("/dir/file", "/dir/.."), ["EINVAL"]),
                (new FsRename("/dir/file", longPath), ["ENAMETOOLONG"]),
                (new FsOpen("/x", null!), ["EINVAL"]),
                (new FsOpen(null!, new FsOpenFlags(Create: true)), ["ENOENT", "EINVAL"]),
                (new FsOpen("/dir/\uD800", new FsOpenFlags(Create: true)), ["EINVAL"]),
                (new FsOpen("/dir/new", new FsOpenFlags(Create: true, Directory: true)), ["EINVAL"]),
                (new FsReadDir("/", null, -1), ["EINVAL"]),
                (new FsReadDir(null!), ["ENOENT", "EINVAL"]),
                (new FsReadDir("/dir/file"), ["ENOTDIR"]),
                (new FsWrite(file.Handle, 0, null!), ["EINVAL"]),
                (new FsWrite(file.Handle, -1, [1]), ["EINVAL"]),
                (new FsWrite(file.Handle, long.MaxValue, [1]), ["EFBIG", "EINVAL"]),
                (new FsWrite(file.Handle, long.MinValue, [1]), ["EINVAL"]),
                (new FsRead(file.Handle, -1, 1), ["EINVAL"]),
                (new FsRead(file.Handle, 0, -1), ["EINVAL"]),
                (new FsTruncate(file.Handle, -1), ["EINVAL"]),
                (new FsTruncate(file.Handle, long.MaxValue), ["EINVAL", "EFBIG"]),
            ];
            foreach (var (request, allowed) in cases)
            {
                var target = request is FsRead or FsWrite or FsTruncate ? file.Server : fs;
                var error = await Raw(k, target, request);
                Assert.True(error is not null && allowed.Contains(error), $"{request} got {error ?? "success"}, expected one of {string.Join('/', allowed)}");
            }

            // A page size past the most is capped, not an error.
            var page = await k.Call<FsDirPage>(fs, new FsReadDir("/", null, 1_000_000));
            Assert.Equal(["dir"], page.Entries.Select(e => e.Name));
            Assert.Empty((await k.Call<FsDirPage>(fs, new FsReadDir("/", "\uFFFF\uFFFF", 5))).Entries);

            // The file and the fleet are as they were.
            Assert.Equal(0, (await FosPosix.FStat(file)).Size);
            Assert.Equal(3, await FosPosix.PWrite(file, 0, "ok!"u8));
            await FosPosix.Close(file);
            Assert.Equal("ok!", await FosFile.ReadAllTextAsync("/dir/file"));
            var tree = await Walk();
            Assert.Equal(["/dir/file"], tree.Files.Values);
            return true;
        });
    }

    [Fact]
    public async Task A_process_gets_EMFILE_past_its_handle_limit_and_a_close_makes_room()
    {
        await using var booted = await Boot();
        await booted.System.Execute(booted.Clients[0], async _ =>
        {
            await FosFile.WriteAllTextAsync("/small", "s");
            var held = new List<FsOpened>();
            for (var i = 0; i < FileSystemServer.MaxHandlesPerProcess; i++) held.Add(await FosPosix.Open("/small", new FsOpenFlags()));
            Assert.Equal(Errno.EMFILE, await ErrnoOf(() => FosPosix.Open("/small", new FsOpenFlags())));
            Assert.Equal(Errno.EMFILE, await ErrnoOf(() => FosPosix.Open("/small2", new FsOpenFlags(Create: true, Write: true)))); // on the same member
            Assert.Equal(Errno.ENOENT, await ErrnoOf(() => FosPosix.Stat("/small2"))); // and nothing was made
            await FosPosix.Close(held[17]);
            var next = await FosPosix.Open("/small", new FsOpenFlags());
            Assert.Equal("s"u8.ToArray(), await FosPosix.PRead(next, 0, 1));
            Assert.Equal(Errno.EMFILE, await ErrnoOf(() => FosPosix.Open("/small", new FsOpenFlags())));
            return true;
        }, TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task A_directory_of_2500_files_lists_whole_and_in_order_a_page_at_a_time()
    {
        await using var booted = await Boot();
        await booted.System.Execute(booted.Clients[0], async k =>
        {
            const int count = 2500;
            await FosPosix.Mkdir("/big");
            for (var i = 0; i < count; i++)
                await FosPosix.Close(await FosPosix.Open($"/big/f{i:D4}", new FsOpenFlags(Create: true, Exclusive: true, Write: true)));
            var names = new List<string>();
            await foreach (var entry in FosDirectory.EnumerateAsync("/big")) names.Add(entry.Name);
            Assert.Equal(Enumerable.Range(0, count).Select(i => $"f{i:D4}"), names);

            foreach (var limit in new[] { 0, FsReadDir.MaxPage, 1_000_000, 700 })
            {
                string? after = null;
                var pages = new List<int>();
                var listed = new List<string>();
                while (true)
                {
                    var page = await FosPosix.ReadDirPage("/big", after, limit);
                    Assert.True(page.Entries.Length <= FsReadDir.MaxPage, $"a page of {page.Entries.Length} entries");
                    pages.Add(page.Entries.Length);
                    listed.AddRange(page.Entries.Select(e => e.Name));
                    if (!page.More) break;
                    after = page.Entries[^1].Name;
                }
                Assert.Equal(names, listed);
                var size = limit is 0 or > FsReadDir.MaxPage ? FsReadDir.MaxPage : limit;
                Assert.Equal((count + size - 1) / size, pages.Count);
                Assert.All(pages.SkipLast(1), p => Assert.Equal(size, p));
            }
            return true;
        }, TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task A_directory_handle_syncs_but_neither_reads_nor_writes()
    {
        await using var booted = await Boot();
        await booted.System.Execute(booted.Clients[0], async k =>
        {
            var dirs = await DirectoriesOn("d", Members, 1, 2);
            await FosFile.WriteAllTextAsync(dirs[0] + "/file", "x");
            foreach (var path in new[] { "/", dirs[0], dirs[1] })
            {
                var dir = await FosPosix.Open(path, new FsOpenFlags(Directory: true));
                Assert.Equal(FsNodeKind.Directory, dir.Attributes.Kind);
                await FosPosix.FSync(dir);
                Assert.Equal(FsNodeKind.Directory, (await FosPosix.FStat(dir)).Kind);
                Assert.Equal(Errno.EISDIR, await ErrnoOf(() => FosPosix.PRead(dir, 0, 1)));
                Assert.Equal(Errno.EISDIR, await ErrnoOf(() => FosPosix.PWrite(dir, 0, "no"u8)));
                Assert.Equal(Errno.EISDIR, await ErrnoOf(() => FosPosix.FTruncate(dir, 0)));
                await FosPosix.Close(dir);
                Assert.Equal(Errno.EBADF, await ErrnoOf(() => FosPosix.FSync(dir)));
            }
            Assert.Equal(Errno.ENOTDIR, await ErrnoOf(() => FosPosix.Open(dirs[0] + "/file", new FsOpenFlags(Directory: true))));
            Assert.Equal(Errno.EISDIR, await ErrnoOf(() => FosPosix.Open(dirs[0], new FsOpenFlags())));
            Assert.Equal(Errno.EISDIR, await ErrnoOf(() => FosPosix.Open(dirs[0], new FsOpenFlags(Directory: true, Write: true))));
            Assert.Equal(Errno.EISDIR, await ErrnoOf(() => FosPosix.Open("/", new FsOpenFlags())));
            Assert.Equal("x", await FosFile.ReadAllTextAsync(dirs[0] + "/file"));
            return true;
        });
    }
}
