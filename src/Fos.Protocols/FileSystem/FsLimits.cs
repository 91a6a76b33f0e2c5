namespace Fos.Protocols.FileSystem;

/// <summary>
/// Numbers the file system's clients and members must agree on; the servers' store is built on
/// them, but they are part of the protocol, so they live here rather than with the server.
/// </summary>
public static class FsLimits
{
    /// <summary>
    /// How many shards the namespace and data are split into. <see cref="FsConfigure.ShardOwners"/>
    /// has one owner per shard, and an inode's low bits name its shard, so every member and every
    /// tool that routes by inode must use the same number.
    /// </summary>
    public const int Shards = 64;

    /// <summary>The unit file data is stored in: clients that copy in chunks of it write whole blocks.</summary>
    public const int BlockSize = 64 * 1024;
}
