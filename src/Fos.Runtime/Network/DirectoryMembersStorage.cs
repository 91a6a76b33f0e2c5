using System.Net;
using DotNext.Buffers;
using DotNext.IO;
using DotNext.Net;
using DotNext.Net.Cluster.Consensus.Raft.Membership;

namespace Fos.Runtime.Network;

/// <summary>
/// The directory's voters (the nodes' endpoints) as Raft last committed them, kept in one file of
/// the node's state directory (written whole, flushed, then renamed over the old one), so a node
/// that restarts knows whom to reach without being told again.
/// </summary>
internal sealed class DirectoryMembersStorage(string path) : PersistentClusterConfigurationStorage<EndPoint>(path)
{
    protected override void Encode(EndPoint address, ref BufferWriterSlim<byte> writer) => writer.WriteEndPoint(address);

    protected override EndPoint Decode(ref SequenceReader reader) => reader.ReadEndPoint();

    /// <summary>The configuration kept, and its version: the log index it was committed at (0: the founder's first, or a joiner's own).</summary>
    public async Task<(IReadOnlySet<EndPoint> Members, long Version)> Load(CancellationToken cancel)
    {
        var members = (await ((IClusterConfigurationStorage<EndPoint>)this).LoadConfigurationAsync(cancel).ConfigureAwait(false)).Members;
        var (_, version) = await ((IClusterConfigurationStorage)this).LoadConfigurationAsync(cancel).ConfigureAwait(false);
        return (members, version);
    }

    /// <summary>A joiner's configuration until the leader's reaches it: the voters it was told of, and itself (version 0, so the leader's replaces it).</summary>
    public async Task Seed(IEnumerable<EndPoint> voters, CancellationToken cancel)
    {
        var configuration = await ((IClusterConfigurationStorage<EndPoint>)this).LoadConfigurationAsync(cancel).ConfigureAwait(false);
        foreach (var voter in voters) configuration = configuration.Add(voter);
        await ((IClusterConfigurationStorage)this).SaveConfigurationAsync(configuration, 0L, cancel).ConfigureAwait(false);
    }
}
