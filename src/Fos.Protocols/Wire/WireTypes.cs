using System.Collections.Frozen;
using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Protocols.FileSystem;
using Fos.Protocols.Layout;
using Fos.Protocols.Memory;
using Fos.Protocols.Naming;
using Fos.Protocols.Processes;
using Fos.Protocols.Proxy;

namespace Fos.Protocols.Wire;

/// <summary>
/// The closed set of message bodies that may cross a process or machine boundary, each with a
/// stable number. A body on the wire names its type by this number, never by a type name, so a
/// peer can only ever make one of the types listed here.
/// </summary>
/// <remarks>
/// The rules that let two builds a version apart still talk: an id, once given, always means the
/// same type; a type that is removed leaves its id unused forever (comment it out, never reuse
/// it); a new type takes a new id in its protocol's range. Ranges leave room for each protocol
/// to grow. Id 0 is a null body.
/// </remarks>
public static class WireTypes
{
    /// <summary>The id of a null body (a call whose handler answered nothing).</summary>
    public const ushort Null = 0;

    private static readonly (ushort Id, Type Type)[] Table =
    [
        // ---- kernel: 1-49 ----
        (1, typeof(Ack)),
        (2, typeof(KernelFault)),
        (3, typeof(Endpoint)),
        (4, typeof(CoreId)),
        (5, typeof(Address)),

        // ---- naming: 50-99 ----
        (50, typeof(NameRecord)),
        (51, typeof(NameRegister)),
        (52, typeof(NameUnregister)),
        (53, typeof(NameLookup)),
        (54, typeof(NameList)),
        (55, typeof(NameListing)),
        (56, typeof(NameChanged)),
        (57, typeof(NameWithdrawCore)),
        (58, typeof(NameWithdrawMachine)),
        (59, typeof(DirectoryChange)),
        (60, typeof(DirectorySubmit)),
        (61, typeof(DirectoryAddMachine)),
        (62, typeof(DirectoryMachine)),
        (63, typeof(DirectoryCommitted)),
        (64, typeof(DirectorySnapshot)),

        // ---- plain replies: 100-149 ----
        (100, typeof(bool)),
        (101, typeof(int)),
        (102, typeof(long)),
        (103, typeof(string)),
        (104, typeof(byte[])),
        (105, typeof(long[])),
        (106, typeof(Endpoint[])),
        (107, typeof(CoreId[])),

        // ---- file system, what clients send and get: 200-299 ----
        (200, typeof(FsAttributes)),
        (201, typeof(FsEntry)),
        (202, typeof(FsHandle)),
        (203, typeof(FsOpenFlags)),
        (204, typeof(FsStat)),
        (205, typeof(FsOpen)),
        (206, typeof(FsOpened)),
        (207, typeof(FsRead)),
        (208, typeof(FsWrite)),
        (209, typeof(FsTruncate)),
        (210, typeof(FsStatHandle)),
        (211, typeof(FsSync)),
        (212, typeof(FsClose)),
        (213, typeof(FsReadDir)),
        (214, typeof(FsDirPage)),
        (215, typeof(FsMkdir)),
        (216, typeof(FsRmdir)),
        (217, typeof(FsUnlink)),
        (218, typeof(FsRename)),

        // ---- file system, between members and from boot: 300-399 ----
        (300, typeof(FsMember)),
        (301, typeof(FsConfigure)),
        (302, typeof(FsCloseAllOf)),
        (303, typeof(FsMemberStats)),
        (304, typeof(FsMemberCounters)),
        (305, typeof(ShardLookup)),
        (306, typeof(ShardStat)),
        (307, typeof(ShardOpenAt)),
        (308, typeof(ShardOpenInode)),
        (309, typeof(ShardReadDir)),
        (310, typeof(ShardMkdirAt)),
        (311, typeof(ShardEnsureDirectory)),
        (312, typeof(ShardRmdirAt)),
        (313, typeof(ShardRemoveDirectory)),
        (314, typeof(ShardUnlinkAt)),
        (315, typeof(ShardDropFile)),
        (316, typeof(ShardRenameAt)),
        (317, typeof(ShardReserve)),
        (318, typeof(ShardRelease)),
        (319, typeof(ShardUnlinkReserved)),
        (320, typeof(ShardLockRenames)),
        (321, typeof(ShardUnlockRenames)),
        (322, typeof(FsTxRunning)),
        (323, typeof(ShardHandleOp)),
        (324, typeof(FsMoveShard)),
        (325, typeof(FsFleetState)),
        (326, typeof(FsFleetView)),
        (327, typeof(FsMembers)),
        (328, typeof(FsShardOwner)),
        (329, typeof(FsHandleState)),
        (330, typeof(FsImportShard)),
        (331, typeof(FsQuiesce)),
        (332, typeof(FsStoredFleet)),
        (333, typeof(FsMemberAt)),

        // ---- memory: 400-449 ----
        (400, typeof(MemConfigure)),
        (401, typeof(MemAlloc)),
        (402, typeof(MemGrant)),
        // 403 and 404 were reads and writes of a buffer through its member: buffers are mapped now.
        (405, typeof(MemFree)),
        (406, typeof(MemReleaseAll)),
        (407, typeof(MemLend)),
        (408, typeof(MemStats)),
        (409, typeof(MemUsage)),
        (410, typeof(MemHandOver)),
        (411, typeof(MemAllocationState)),
        (412, typeof(MemAdopt)),
        (413, typeof(MemMembers)),
        (414, typeof(MemFleetState)),
        (415, typeof(MemShare)),
        (416, typeof(MemShared)),

        // ---- layout: 450-499 ----
        (450, typeof(LayoutConfigure)),
        (451, typeof(LayoutPlace)),
        (452, typeof(LayoutRelease)),
        (453, typeof(LayoutTable)),
        (454, typeof(LayoutCore)),
        (455, typeof(LayoutCore[])),

        // ---- processes: 500-549 ----
        (500, typeof(ProcInfo)),
        (501, typeof(ProcInfo[])),
        (502, typeof(ProcWait)),
        (503, typeof(ProcExit)),
        (504, typeof(ProcKill)),
        (505, typeof(ProcList)),
        (506, typeof(ProcSpawn)),
        (507, typeof(ProcReadOutput)),
        (508, typeof(ProcChunk)),
        (509, typeof(ProcOutputPage)),
        (510, typeof(ProcWriteInput)),

        // ---- proxy: 550-599 ----
        (550, typeof(ProxyPeer)),
        (551, typeof(ProxyConnect)),
        (552, typeof(ProxyForget)),
        (553, typeof(ProxyStatus)),
        (554, typeof(ProxyLink)),
        (555, typeof(ProxyLinks)),
    ];

    private static readonly FrozenDictionary<Type, WireType> ByType;
    private static readonly WireType?[] ById;

    static WireTypes()
    {
        var byType = new Dictionary<Type, WireType>();
        ById = new WireType?[Table.Max(e => e.Id) + 1];
        foreach (var (id, type) in Table)
        {
            if (id == Null || ById[id] is not null || byType.ContainsKey(type))
                throw new InvalidOperationException($"wire type id {id} ({type}) is reserved or given twice");
            var entry = WireType.Create(id, type);
            ById[id] = entry;
            byType.Add(type, entry);
        }
        ByType = byType.ToFrozenDictionary();
    }

    /// <summary>Every registered type with its id, in table order.</summary>
    public static IReadOnlyList<(ushort Id, Type Type)> All { get; } = Array.AsReadOnly(Table);

    /// <summary>The id of <paramref name="type"/>, if it may cross.</summary>
    public static bool TryGetId(Type type, out ushort id)
    {
        ArgumentNullException.ThrowIfNull(type);
        var found = ByType.TryGetValue(type, out var entry);
        id = found ? entry!.Id : Null;
        return found;
    }

    /// <summary>The type numbered <paramref name="id"/>, or null if no type is.</summary>
    public static Type? TypeOf(ushort id) => Entry(id)?.Type;

    /// <summary>Whether <paramref name="type"/> is registered.</summary>
    public static bool IsRegistered(Type type) => ByType.ContainsKey(type);

    internal static WireType? Entry(ushort id) => id < ById.Length ? ById[id] : null;

    internal static WireType? Entry(Type type) => ByType.GetValueOrDefault(type);
}
