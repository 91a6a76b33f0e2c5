using System.Text;
using Fos.Protocols.FileSystem;

namespace Fos.Services.FileSystem;

/// <summary>What an operation over several shards does.</summary>
public enum IntentKind : byte
{
    /// <summary>Entry (Dir, Name) → new directory Inode, whose inode lives in another shard.</summary>
    Mkdir = 1,
    /// <summary>Entry (Dir, Name) names directory Inode in another shard; it goes if that directory is empty.</summary>
    Rmdir = 2,
    /// <summary>Entry (Dir, Name) was removed; file Inode in another shard is dropped.</summary>
    Unlink = 3,
    /// <summary>(Dir, Name) → Inode moves to (ToDir, ToName), replacing Replaced if any.</summary>
    Rename = 4,
}

/// <summary>How far a rename got: before its decision it is undone after a crash, after it is finished.</summary>
public enum IntentState : byte
{
    Preparing = 1,
    Decided = 2,
}

/// <summary>
/// An operation that changes several shards, recorded in the store of the shard that coordinates it
/// (the one holding the entry it changes) before it touches any other shard. Every step it sends
/// elsewhere is idempotent, so a member that restarts finishes (or, for a rename not yet decided,
/// undoes) each intent it finds, and only then serves the names it holds.
/// </summary>
public sealed record FsIntent(
    long Tx,
    IntentKind Kind,
    IntentState State,
    long Dir,
    string Name,
    long Inode,
    FsNodeKind InodeKind,
    long ToDir = 0,
    string ToName = "",
    long Replaced = 0,
    FsNodeKind ReplacedKind = 0,
    bool RenameLock = false)
{
    public byte[] Encode()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write((byte)1); // record version
            writer.Write(Tx);
            writer.Write((byte)Kind);
            writer.Write((byte)State);
            writer.Write(Dir);
            writer.Write(Name);
            writer.Write(Inode);
            writer.Write((byte)InodeKind);
            writer.Write(ToDir);
            writer.Write(ToName);
            writer.Write(Replaced);
            writer.Write((byte)ReplacedKind);
            writer.Write(RenameLock);
        }
        return stream.ToArray();
    }

    public static FsIntent Decode(byte[] bytes)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
        var version = reader.ReadByte();
        if (version != 1) throw new InvalidDataException($"an intent record of version {version}; this fos reads version 1");
        return new FsIntent(reader.ReadInt64(), (IntentKind)reader.ReadByte(), (IntentState)reader.ReadByte(), reader.ReadInt64(), reader.ReadString(),
            reader.ReadInt64(), (FsNodeKind)reader.ReadByte(), reader.ReadInt64(), reader.ReadString(), reader.ReadInt64(), (FsNodeKind)reader.ReadByte(),
            reader.ReadBoolean());
    }
}
