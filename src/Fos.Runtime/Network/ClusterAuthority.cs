using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Fos.Runtime.Network;

/// <summary>
/// What lets the machine that made the cluster admit others: the authority's key (in its
/// identity), the join key tokens are made with (<c>cluster/join.key</c>), and the list of
/// members, where each new machine's number comes from. Joins are taken one at a time.
/// </summary>
public sealed class ClusterAuthority
{
    private const string JoinKeyFile = "join.key";
    private readonly Lock gate = new();

    private ClusterAuthority(ClusterIdentity identity, byte[] joinKey, ClusterMembers members)
    {
        Identity = identity;
        JoinKey = joinKey;
        Members = members;
    }

    public ClusterIdentity Identity { get; }

    public ClusterMembers Members { get; }

    internal byte[] JoinKey { get; }

    /// <summary>The authority of the cluster whose identity and join key are kept in <paramref name="directory"/>, if this machine made it.</summary>
    public static ClusterAuthority? Open(string directory, ClusterIdentity identity)
    {
        var path = Path.Combine(directory, JoinKeyFile);
        if (!identity.CanIssue || !File.Exists(path)) return null;
        var key = File.ReadAllBytes(path);
        if (key.Length != 32) throw new InvalidDataException($"{path} is not a join key (32 bytes): remove it and restart to make a new one (tokens issued so far stop working)");
        return new ClusterAuthority(identity, key, ClusterMembers.Load(directory));
    }

    /// <summary>Makes a new cluster's join key in <paramref name="directory"/> (its owner's alone), replacing any: every token issued before stops working.</summary>
    public static void NewJoinKey(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, JoinKeyFile);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var file = new FileStream(path + ".new", options);
        file.Write(RandomNumberGenerator.GetBytes(32));
        file.Flush(flushToDisk: true);
        file.Close();
        File.Move(path + ".new", path, overwrite: true);
    }

    /// <summary>A token to join with, good for <paramref name="ttl"/> from <paramref name="now"/> (default: now).</summary>
    public JoinToken Token(TimeSpan ttl, DateTimeOffset? now = null) => JoinToken.Create(Identity.Fingerprint, JoinKey, ttl, now ?? DateTimeOffset.UtcNow);

    /// <summary>
    /// Admits a machine that showed <paramref name="token"/>: a number of its own, a certificate for
    /// <paramref name="key"/>, and the machines it should reach.
    /// </summary>
    /// <exception cref="UnauthorizedAccessException">The token does not admit it (the reason is the message).</exception>
    public (ushort Machine, X509Certificate2 Certificate, IReadOnlyList<ClusterMember> Members) Admit(JoinToken token, PublicKey key, string address)
    {
        if (!token.Admits(JoinKey, Identity.Fingerprint, DateTimeOffset.UtcNow, out var why)) throw new UnauthorizedAccessException(why);
        ClusterMember admitted;
        IReadOnlyList<ClusterMember> all;
        X509Certificate2 certificate;
        lock (gate)
        {
            if (Members.All.Count >= RaftDirectoryOptions.MaxMachines)
                throw new UnauthorizedAccessException($"a cluster has at most {RaftDirectoryOptions.MaxMachines} machines (each a voter of its directory), and this one has {Members.All.Count} already");
            var machine = Members.Next;
            certificate = Identity.IssueFor(machine, key);
            Members.Set(admitted = new ClusterMember(machine, address));
            all = Members.All;
        }
        Admitted?.Invoke(admitted);
        return (admitted.Machine, certificate, all);
    }

    /// <summary>Raised (on the thread that admitted it) once a machine was admitted: the node makes it a voter of the cluster's directory.</summary>
    public event Action<ClusterMember>? Admitted;
}
