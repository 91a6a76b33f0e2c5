using System.Net;
using System.Net.Sockets;
using Fos.Runtime.Network;

namespace Fos.Cli.Node;

/// <summary>
/// What a node needs to be a machine of a cluster: who it is, whether it admits others, where it
/// listens, whom it reaches, and whether this boot made the cluster (its directory starts as a
/// group of one) or joins one that exists.
/// </summary>
internal sealed record ClusterPlan(ClusterIdentity Identity, ClusterAuthority? Authority, IPEndPoint? Listen, IReadOnlyList<ClusterMember> Members,
    bool Founding = false)
{
    /// <summary>Where a machine's node of the cluster's directory listens: the port after its links' (the cluster's machines use two ports each).</summary>
    public static IPEndPoint DirectoryEndpoint(IPEndPoint links) => new(links.Address, links.Port + 1);
}

/// <summary>
/// Turns <c>fos boot</c>'s cluster options and the data directory into a <see cref="ClusterPlan"/>:
/// a data directory that holds an identity (<c>cluster/</c>) boots as that machine again, with no
/// token; <c>--join</c> asks the cluster for one; <c>--listen</c> alone makes a new cluster, whose
/// authority and join key stay in this data directory. Neither: a machine on its own.
/// </summary>
internal static class ClusterSetup
{
    public static string Directory(string data) => Path.Combine(data, "cluster");

    /// <exception cref="ArgumentException">The options do not fit together or cannot be used (the message says what to do).</exception>
    /// <exception cref="JoinRefusedException">The cluster did not admit this machine.</exception>
    public static async Task<ClusterPlan?> Prepare(string data, string? listen, string? join, string? token, Action<string> say)
    {
        var directory = Directory(data);
        var endpoint = listen is null ? null : await Endpoint(listen);
        ClusterIdentity? known;
        try
        {
            known = ClusterIdentity.Load(directory);
        }
        catch (InvalidDataException ex)
        {
            throw new ArgumentException(ex.Message, ex);
        }
        if (known is not null)
        {
            var members = ClusterMembers.Load(directory);
            if (join is not null) say($"this data directory is m{known.Machine} of its cluster already: it boots as that machine, and needs no token");
            var own = members.All.FirstOrDefault(m => m.Machine == known.Machine);
            endpoint ??= own is { Address.Length: > 0 } ? await Endpoint(own.Address) : null;
            if (listen is not null) members.Set(new ClusterMember(known.Machine, listen));
            return new ClusterPlan(known, ClusterAuthority.Open(directory, known), endpoint, members.All);
        }
        if (join is not null)
        {
            if (token is null) throw new ArgumentException("--join needs --token: print one with `fos cluster token --data DIR` on the machine that made the cluster");
            if (listen is null) throw new ArgumentException("--join needs --listen HOST:PORT: machines that join later reach this one there");
            JoinToken parsed;
            try
            {
                parsed = JoinToken.Parse(token);
            }
            catch (FormatException ex)
            {
                throw new ArgumentException($"--token: {ex.Message}", ex);
            }
            say($"joining the cluster at {join}…");
            var (identity, joined) = await JoinProtocol.Join(join, parsed, listen);
            identity.Save(directory);
            var members = ClusterMembers.Load(directory);
            foreach (var member in joined) members.Set(member);
            say($"joined as m{identity.Machine}; the cluster's machines: {string.Join(", ", joined.Select(m => $"m{m.Machine}"))}");
            return new ClusterPlan(identity, null, endpoint, members.All);
        }
        if (token is not null) throw new ArgumentException("--token goes with --join ADDRESS");
        if (listen is null) return null;
        var made = ClusterIdentity.CreateCluster(1);
        made.Save(directory);
        ClusterAuthority.NewJoinKey(directory);
        var authority = ClusterAuthority.Open(directory, made)!;
        authority.Members.Set(new ClusterMember(1, listen));
        say($"made a new cluster, this machine m1 (authority {made.Fingerprint[..16]}…); let others join with a token from `fos cluster token --data {data}`");
        return new ClusterPlan(made, authority, endpoint, authority.Members.All, Founding: true);
    }

    /// <summary>HOST:PORT as an address to listen on (a name is resolved); PORT and the one after it (the directory's) must be free for fos.</summary>
    public static async Task<IPEndPoint> Endpoint(string text)
    {
        var endpoint = await Resolve(text);
        return endpoint.Port < 65535 ? endpoint
            : throw new ArgumentException($"'{text}': a machine listens on PORT and PORT+1 (its directory's), so PORT is at most 65534");
    }

    private static async Task<IPEndPoint> Resolve(string text)
    {
        if (IPEndPoint.TryParse(text, out var parsed) && parsed.Port != 0 && text.Contains(':', StringComparison.Ordinal)) return parsed;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
            throw new ArgumentException($"'{text}' is not HOST:PORT (for example 127.0.0.1:7100)");
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(text[..colon].Trim('[', ']'));
            var address = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
                ?? throw new ArgumentException($"{text[..colon]} has no address");
            return new IPEndPoint(address, port);
        }
        catch (SocketException ex)
        {
            throw new ArgumentException($"cannot resolve {text[..colon]}: {ex.Message}", ex);
        }
    }
}
