using Fos.Kernel;
using Fos.Kernel.Storage;
using Fos.Protocols.FileSystem;

namespace Fos.Services.FileSystem;

/// <summary>
/// A member of the file-system fleet (<c>/sys/fs</c>). The namespace and the data are split into
/// <see cref="FsStore.Shards"/> shards by inode number; each member owns some shards and keeps them
/// in its own store. A client asks its nearest member, which walks the path one directory at a
/// time, asking the owner of each directory's shard (itself, or a sibling by message), and then has
/// the owner of the last directory do the operation. A new file lives in its directory's shard, so
/// creating, opening and removing a file is one member's work; a new directory goes to a random
/// shard, which spreads the tree over the fleet.
/// </summary>
/// <remarks>
/// The member's roles, one file each: walking paths for clients (<c>.Paths</c>), work on the
/// shards it owns (<c>.Shards</c>), operations over several shards and their recovery
/// (<c>.Intents</c>), names held for other shards' operations (<c>.Holds</c>), open files and
/// quota (<c>.Files</c>), and moving shards (<c>.Moves</c>).
/// A member has two mailboxes: the public one (named <c>/sys/fs</c>) takes only the client
/// protocol (FsProtocol.cs); the peer one, whose capability only boot and the fleet
/// hold, takes everything else. Whatever reaches the public mailbox that is not the client
/// protocol is refused and counted.
/// </remarks>
public sealed partial class FileSystemServer : Server
{
    private const int MailboxCapacity = 4096;

    private FsStore? store;
    private FsMember[] members = [];
    private int[] owners = [];
    private long ownersChanged; // with the store's names version: when the quick walk's answers go stale
    private readonly PathCache paths = new();
    private int index = -1;
    private Endpoint peer;
    private long refused;

    private FsStore Store => store ?? throw FsError.Of(Errno.EBUSY, "this file-system member is still starting");

    /// <summary>Starts a member on <paramref name="kernel"/>'s core → its public and peer mailboxes.</summary>
    public static FsMember Start(CoreKernel kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        var server = new FileSystemServer();
        var @public = kernel.StartServer(new ServerImage("fs", () => server, MailboxCapacity));
        server.peer = kernel.CreateMailbox(server.HandlePeer, MailboxCapacity);
        return new FsMember(@public, server.peer);
    }

    protected override void OnStop()
    {
        try
        {
            Kernel.CloseMailbox(peer.Address);
        }
        catch (FosException)
        {
            // Already closed with the core.
        }
        stopping = true;
        store?.Store.Dispose();
        store = null;
    }

    /// <summary>The public mailbox: the client protocol, and nothing else.</summary>
    protected override ValueTask<object?> Handle(Message message) => message.Body switch
    {
        FsStat r => StatHere(r.Path) is { } now ? Reply(now) : Working(Stat(r.Path), r.Path),
        FsOpen r => Working(Open(r, message.From), r.Path),
        FsReadDir r => Working(ReadDirPath(r), r.Path),
        FsMkdir r => Working(Mkdir(r.Path), r.Path),
        FsRmdir r => Working(Rmdir(r.Path), r.Path),
        FsUnlink r => Working(Unlink(r.Path), r.Path),
        FsRename r => Working(Rename(r.From, r.To), $"{r.From} -> {r.To}"),
        FsRead or FsWrite or FsTruncate or FsStatHandle or FsSync or FsClose => OnHandle(message.Body, message.From),
        _ => Refuse(message.Body),
    };

    private ValueTask<object?> Refuse(object? body)
    {
        refused++;
        throw new FosException(FosError.BadRequest,
            $"/sys/fs does not take {body?.GetType().Name ?? "an empty message"} from clients: its public mailbox takes only the file-system calls");
    }

    /// <summary>The peer mailbox: boot, the fleet's members, and the process fleet.</summary>
    private ValueTask<object?> HandlePeer(Message message) => message.Body switch
    {
        FsConfigure configure => Configure(configure),
        FsFleetState => Reply(new FsFleetView(members, [.. owners], quota)),
        FsStoredFleet r => Reply(StoredFleet(r.Index, r.QuotaBytes)),
        FsMemberStats => Reply(new FsMemberCounters(refused, handles.Count, running.Count)),
        FsMembers m => Reply(SetMembers(m.Members)),
        FsMemberAt m => Reply(SetMember(m.Index, m.Member)),
        FsShardOwner o => Reply(SetOwner(o.Shard, o.Owner)),
        FsMoveShard m => ReplyWhenDone(MoveShard(m.Shard, m.To)),
        FsImportShard i => ReplyWhenDone(Import(i)),
        FsQuiesce => ReplyWhenDone(Quiesce()),
        FsCloseAllOf r => ReplyWhenDone(CloseAllOf(r)),
        FsTxRunning r => Reply(running.ContainsKey(r.Tx)),
        IShardRequest shard => OnShard(shard),
        _ => throw new FosException(FosError.BadRequest, $"the file system does not understand {message.Body?.GetType().Name ?? "null"}"),
    };

    // ---- the fleet: who owns which shard -----------------------------------------------------

    private ValueTask<object?> Configure(FsConfigure configure)
    {
        if (configure.Members is null || configure.ShardOwners is null || configure.ShardOwners.Length != FsStore.Shards
            || configure.ShardOwners.Any(o => o < 0 || o >= configure.Members.Length)
            || configure.Index < 0 || configure.Index >= configure.Members.Length || configure.Members[configure.Index].Peer != peer)
            throw new FosException(FosError.BadRequest, "a file-system configuration must give every shard an owner among the members, this one included");
        if (configure.QuotaBytes < 0) throw new FosException(FosError.BadRequest, "a file-system quota cannot be negative");
        members = configure.Members;
        owners = [.. configure.ShardOwners]; // this member's own copy: it changes as shards move
        ownersChanged++;
        index = configure.Index;
        quota = configure.QuotaBytes;
        if (store is null)
        {
            var opened = new FsStore(Kernel.OpenStore($"fs/member-{index}"));
            var batch = new StoreBatch();
            try
            {
                opened.CheckFormat(batch);
            }
            catch
            {
                opened.Store.Dispose();
                throw;
            }
            store = opened;
            if (IsLocal(FsStore.RootInode) && store.GetInode(FsStore.RootInode) is null)
                FsStore.PutInode(batch, FsStore.RootInode, new FsStore.Inode(FsNodeKind.Directory, 0, 1));
            var claimed = new HashSet<long>();
            for (var shard = 0; shard < FsStore.Shards; shard++)
            {
                if (owners[shard] != index) continue;
                var orphans = store.Orphans(shard);
                foreach (var orphan in orphans) store.DeleteInode(batch, orphan);
                store.Reconcile(batch, shard, claimed, orphans);
            }
            if (batch.Count > 0) store.Write(batch);
            store.DeleteUnclaimedExtents(claimed);
            // What this member was doing when it last stopped is finished (or undone) before its names are served.
            for (var shard = 0; shard < FsStore.Shards; shard++)
                if (owners[shard] == index) Adopt(shard);
        }
        used = Enumerable.Range(0, FsStore.Shards).Where(s => owners[s] == index).Sum(store.DataBytes);
        SaveFleet();
        return Reply(Ack.Instance);
    }

    /// <summary>Keeps the fleet as this member now knows it in its store (see <see cref="FsStore.GetFleet"/>).</summary>
    private void SaveFleet()
    {
        if (store is null) return;
        var batch = new StoreBatch();
        FsStore.PutFleet(batch, new FsStore.FleetMap([.. members.Select(m => m.Peer.Address.Machine)], [.. owners]));
        store.Write(batch);
    }

    /// <summary>
    /// Boot's question to a member started in place of member <paramref name="stored"/> while the
    /// rest of its cluster is down: the fleet that member's store last knew → its view, the other
    /// machines' members as placeholders (nothing answers there until they come back), or null.
    /// </summary>
    private FsFleetView? StoredFleet(int stored, long quotaBytes)
    {
        if (stored < 0) throw new FosException(FosError.BadRequest, $"no member {stored}");
        var opened = new FsStore(Kernel.OpenStore($"fs/member-{stored}"));
        try
        {
            if (opened.GetFleet() is not { } map || stored >= map.Machines.Length) return null;
            var placeholders = map.Machines.Select(m => new FsMember(Absent(m), Absent(m))).ToArray();
            return new FsFleetView(placeholders, map.Owners, quotaBytes);
        }
        finally
        {
            opened.Store.Dispose();
        }
    }

    /// <summary>A mailbox on <paramref name="machine"/> that no kernel ever makes: a call to it fails there, saying which machine.</summary>
    public static Endpoint Absent(ushort machine) => new(new Address(machine, 0, uint.MaxValue), Capability.None);

    private bool IsLocal(long inode) => owners.Length > 0 && owners[FsStore.ShardOf(inode)] == index;

    private Endpoint OwnerOf(long inode) =>
        owners.Length > 0 ? members[owners[FsStore.ShardOf(inode)]].Peer : throw FsError.Of(Errno.EBUSY, "this file-system member is still starting");

    /// <summary>
    /// The members as the fleet now has them: never fewer, and this one where it is. (Another
    /// member may know a replacement this one has not heard of yet, or not know one it has: the
    /// list is taken, and a slot still out of date is learned when it is next called.)
    /// </summary>
    private Ack SetMembers(FsMember[] all)
    {
        if (all is null || all.Length < members.Length || (index >= 0 && all[index].Peer != peer))
            throw new FosException(FosError.BadRequest, "members may be added to a file-system fleet, never removed or renumbered");
        members = all;
        SaveFleet();
        return Ack.Instance;
    }

    private Ack SetMember(int at, FsMember member)
    {
        if (member is null || at < 0 || at >= members.Length || at == index)
            throw new FosException(FosError.BadRequest, $"no other member {at} in this fleet to replace");
        members = [.. members];
        members[at] = member;
        SaveFleet();
        return Ack.Instance;
    }

    private Ack SetOwner(int shard, int owner)
    {
        if (shard is < 0 or >= FsStore.Shards || owner < 0 || owner >= members.Length)
            throw new FosException(FosError.BadRequest, $"no shard {shard} or member {owner} in this fleet");
        owners[shard] = owner;
        ownersChanged++;
        SaveFleet();
        return Ack.Instance;
    }
}
