using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using Fos.Kernel;
using Fos.Protocols.Proxy;
using Fos.Runtime;
using Fos.Runtime.Network;
using Fos.Services;

namespace Fos.Proxy.Tests;

/// <summary>
/// Joining a cluster with a token, over real TLS on loopback: a good token gives a number, a
/// certificate and the way to the others; a wrong, expired or foreign token, garbage, or a join
/// through a machine that holds no authority is refused with a clear reason on both sides; and the
/// join messages' decoder survives 100,000 hostile inputs.
/// </summary>
public sealed class JoinTests : IAsyncDisposable
{
    private readonly string data = Path.Combine(Path.GetTempPath(), "fos-join-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly List<Machine> machines = [];
    private readonly ConcurrentQueue<string> log = new();

    private (Machine Machine, ClusterAuthority Authority) Seed()
    {
        var identity = ClusterIdentity.CreateCluster(1);
        identity.Save(data);
        ClusterAuthority.NewJoinKey(data);
        var authority = ClusterAuthority.Open(data, identity)!;
        var machine = Machine.Start(new MachineOptions
        {
            MachineId = 1,
            Cores = 2,
            Identity = identity,
            Authority = authority,
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Log = line => log.Enqueue($"m1: {line}"),
        });
        machines.Add(machine);
        return (machine, authority);
    }

    private async Task<string> Listening(Machine machine)
    {
        await SystemBoot.StartProxy(machine, machine.Cores[0].Machine);
        return machine.Listening!.ToString();
    }

    [Fact]
    public async Task A_machine_with_a_good_token_joins_and_reaches_the_first()
    {
        var (seed, authority) = Seed();
        var seedAddress = await Listening(seed);
        authority.Members.Set(new ClusterMember(1, seedAddress));
        var (identity, members) = await JoinProtocol.Join(seedAddress, authority.Token(TimeSpan.FromMinutes(5)), "127.0.0.1:1");
        Assert.Equal(2, identity.Machine);
        Assert.Equal(authority.Identity.Fingerprint, identity.Fingerprint);
        Assert.False(identity.CanIssue); // the authority's key stays with the first machine
        Assert.Equal([(ushort)1, (ushort)2], members.Select(m => m.Machine));
        Assert.Contains(log, l => l.Contains("m2 joined the cluster", StringComparison.Ordinal));

        var joined = Machine.Start(new MachineOptions { MachineId = identity.Machine, Cores = 2, Identity = identity, Listen = new IPEndPoint(IPAddress.Loopback, 0), Log = line => log.Enqueue($"m2: {line}") });
        machines.Add(joined);
        var proxy = await SystemBoot.StartProxy(joined, 2);
        await SystemBoot.ConnectProxy(joined, proxy, [.. members.Where(m => m.Machine != 2).Select(m => new ProxyPeer(m.Machine, m.Address))]);
        var echo = await seed.Execute(seed.Cores[1], k => Task.FromResult(k.CreateMailbox(message => ValueTask.FromResult(message.Body))));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        object? answer = null;
        while (answer is null)
        {
            try
            {
                answer = await joined.Execute(joined.Cores[1], k => k.Call(echo, "hello, m1", TimeSpan.FromMilliseconds(500)).AsTask());
            }
            catch (FosException) when (DateTime.UtcNow < deadline)
            {
                // The link is still coming up.
            }
        }
        Assert.Equal("hello, m1", answer);
        // The first machine learnt of m2 from its certificate alone, and calls it back.
        var back = await joined.Execute(joined.Cores[1], k => Task.FromResult(k.CreateMailbox(message => ValueTask.FromResult<object?>("from m2"))));
        Assert.Equal("from m2", await seed.Execute(seed.Cores[1], k => k.Call(back, "hi").AsTask()));
    }

    [Fact]
    public async Task Wrong_expired_and_garbled_tokens_are_refused_with_the_reason_on_both_sides()
    {
        var (seed, authority) = Seed();
        var address = await Listening(seed);
        var good = authority.Token(TimeSpan.FromMinutes(5));

        var forged = good with { Mac = new byte[32] };
        var error = await Assert.ThrowsAsync<JoinRefusedException>(() => JoinProtocol.Join(address, forged, ""));
        Assert.Contains("not issued by this cluster", error.Message);

        var expired = authority.Token(TimeSpan.FromMinutes(1), DateTimeOffset.UtcNow.AddHours(-1));
        error = await Assert.ThrowsAsync<JoinRefusedException>(() => JoinProtocol.Join(address, expired, ""));
        Assert.Contains("expired", error.Message);

        using var other = ClusterIdentity.CreateCluster();
        var foreign = good with { Fingerprint = other.Fingerprint };
        error = await Assert.ThrowsAsync<JoinRefusedException>(() => JoinProtocol.Join(address, foreign, ""));
        Assert.Contains("not the cluster the token is for", error.Message);

        Assert.Throws<FormatException>(() => JoinToken.Parse("FOS1.abc.1.x"));
        Assert.Throws<FormatException>(() => JoinToken.Parse("not a token"));
        Assert.Throws<FormatException>(() => JoinToken.Parse(""));

        Assert.Contains(log, l => l.Contains("refused a machine joining", StringComparison.Ordinal) && l.Contains("not issued by this cluster", StringComparison.Ordinal));
        Assert.Contains(log, l => l.Contains("expired", StringComparison.Ordinal));
        Assert.Empty(authority.Members.All); // nobody was admitted
        Assert.Equal("still", await seed.Execute(seed.Cores[1], k => Task.FromResult("still")));
    }

    [Fact]
    public async Task A_join_through_a_machine_without_the_authority_is_refused()
    {
        var (seed, authority) = Seed();
        var two = ClusterIdentity.Of(authority.Identity.Authority, authority.Identity.IssueFor(2));
        var member = Machine.Start(new MachineOptions { MachineId = 2, Cores = 2, Identity = two, Listen = new IPEndPoint(IPAddress.Loopback, 0), Log = line => log.Enqueue($"m2: {line}") });
        machines.Add(member);
        var address = await Listening(member);
        var error = await Assert.ThrowsAsync<JoinRefusedException>(() => JoinProtocol.Join(address, authority.Token(TimeSpan.FromMinutes(1)), ""));
        Assert.Contains("join through the machine that made the cluster", error.Message);
        Assert.Empty(authority.Members.All); // and the one that could admit was not asked
        Assert.Equal(0, seed.RunningProcesses);
    }

    [Fact]
    public void A_sixth_machine_is_refused_with_the_reason_and_no_certificate()
    {
        var (_, authority) = Seed();
        using var key = System.Security.Cryptography.ECDsa.Create();
        var publicKey = new System.Security.Cryptography.X509Certificates.PublicKey(key);
        var token = authority.Token(TimeSpan.FromMinutes(5));
        var admitted = new List<ushort>();
        authority.Admitted += member => admitted.Add(member.Machine);
        authority.Members.Set(new ClusterMember(1, "127.0.0.1:7100")); // the founder, as fos boot --listen records it
        for (var i = 1; i < RaftDirectoryOptions.MaxMachines; i++) authority.Admit(token, publicKey, $"127.0.0.1:{7100 + 2 * i}");
        var error = Assert.Throws<UnauthorizedAccessException>(() => authority.Admit(token, publicKey, "127.0.0.1:7200"));
        Assert.Contains($"at most {RaftDirectoryOptions.MaxMachines} machines", error.Message);
        Assert.Equal(RaftDirectoryOptions.MaxMachines, authority.Members.All.Count);
        Assert.Equal(Enumerable.Range(2, RaftDirectoryOptions.MaxMachines - 1).Select(m => (ushort)m), admitted); // the refused one was not announced
    }

    [Fact]
    public async Task Nothing_listening_is_a_clear_error()
    {
        var error = await Assert.ThrowsAsync<JoinRefusedException>(() =>
            JoinProtocol.Join("127.0.0.1:1", JoinToken.Create(new string('A', 64), new byte[32], TimeSpan.FromMinutes(1), DateTimeOffset.UtcNow), ""));
        Assert.Contains("127.0.0.1:1", error.Message);
        await Assert.ThrowsAsync<JoinRefusedException>(() => JoinProtocol.Join("no port", JoinToken.Create(new string('A', 64), new byte[32], TimeSpan.FromMinutes(1), DateTimeOffset.UtcNow), ""));
    }

    [Fact]
    public async Task A_hundred_thousand_hostile_join_messages_fail_only_as_invalid_data()
    {
        var random = new Random(9);
        var valid = await Framed(new JoinRequest("FOS1.x.1.y", "AAAA", "127.0.0.1:7000"));
        var outcomes = new Dictionary<string, int>();
        for (var i = 0; i < 100_000; i++)
        {
            byte[] input;
            switch (i % 4)
            {
                case 0:
                    input = new byte[random.Next(0, 64)];
                    random.NextBytes(input);
                    break;
                case 1:
                    input = valid[..random.Next(0, valid.Length)];
                    break;
                case 2:
                    input = (byte[])valid.Clone();
                    input[random.Next(input.Length)] ^= (byte)(1 << random.Next(8));
                    break;
                default: // a length that claims far more than is there, or more than is allowed
                    input = new byte[8];
                    BinaryPrimitives.WriteInt32LittleEndian(input, random.Next(2) == 0 ? random.Next() : JoinProtocol.MaxMessage + random.Next(1, 1000));
                    break;
            }
            string outcome;
            try
            {
                await JoinProtocol.Receive<JoinRequest>(new MemoryStream(input), CancellationToken.None);
                outcome = "read";
            }
            catch (InvalidDataException)
            {
                outcome = "refused";
            }
            catch (Exception ex)
            {
                outcome = ex.GetType().Name;
            }
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }
        Assert.All(outcomes.Keys, o => Assert.True(o is "read" or "refused", $"an input ended in {o}"));
    }

    private static async Task<byte[]> Framed<T>(T message)
    {
        var stream = new MemoryStream();
        await JoinProtocol.Send(stream, message, CancellationToken.None);
        return stream.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var machine in machines) await machine.DisposeAsync();
        if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
    }
}
