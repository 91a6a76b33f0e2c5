using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Fos.Runtime.Network;

/// <summary>The cluster's authority, as the machine that admits sends it first (base64 of its certificate).</summary>
public sealed record JoinOffer(string Authority);

/// <summary>A joining machine's request: its token, a signing request for a key it made, and where it accepts links.</summary>
public sealed record JoinRequest(string Token, string SigningRequest, string Address);

/// <summary>The answer: the machine's number and certificate, and the machines it should reach; or why not.</summary>
public sealed record JoinReply(ushort Machine, string? Certificate, ClusterMember[] Members, string? Refused);

/// <summary>
/// How a machine joins: over TLS to a machine of the cluster on its link port, showing no
/// certificate (it has none yet). The admitting side first sends the authority's certificate; the
/// joining side checks it against the fingerprint in its token, and that the TLS certificate it
/// was shown chains to it, before it sends the token: a machine that is not of the cluster never
/// sees it. Then its request, then the answer. Messages are JSON, each framed by a 4-byte length,
/// at most <see cref="MaxMessage"/> bytes; anything else ends the exchange.
/// </summary>
public static class JoinProtocol
{
    public const int MaxMessage = 64 << 10;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    /// <summary>Joins the cluster at <paramref name="seed"/> (HOST:PORT) with <paramref name="token"/>.</summary>
    /// <exception cref="JoinRefusedException">The cluster refused, or is not the one the token names, or cannot be reached (the message says which and what to do).</exception>
    public static async Task<(ClusterIdentity Identity, IReadOnlyList<ClusterMember> Members)> Join(string seed, JoinToken token, string address,
        CancellationToken cancel = default)
    {
        var colon = seed.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(seed.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
            throw new JoinRefusedException($"'{seed}' is not HOST:PORT");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        deadline.CancelAfter(Deadline);
        using var client = new TcpClient { NoDelay = true };
        try
        {
            await client.ConnectAsync(seed[..colon].Trim('[', ']'), port, deadline.Token);
            await using var tls = new SslStream(client.GetStream());
            X509Certificate2? shown = null;
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "fos cluster",
                EnabledSslProtocols = SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                // Checked below, against the authority the token pins, once it has been sent.
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    if (certificate is not null) shown = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    return certificate is not null;
                },
            }, deadline.Token);
            using var offered = shown;
            var offer = await Receive<JoinOffer>(tls, deadline.Token);
            using var authority = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(offer.Authority));
            if (!string.Equals(authority.GetCertHashString(HashAlgorithmName.SHA256), token.Fingerprint, StringComparison.OrdinalIgnoreCase))
                throw new JoinRefusedException($"{seed} is not the cluster the token is for (its authority's fingerprint differs): check the address and the token");
            if (offered is null || !ClusterIdentity.ChainsTo(offered, authority, out var why))
                throw new JoinRefusedException($"{seed} showed a certificate that is not from its own cluster's authority: refusing to send it the token");

            var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=fos machine joining", key, HashAlgorithmName.SHA256);
            await Send(tls, new JoinRequest(token.ToString(), Convert.ToBase64String(request.CreateSigningRequest()), address), deadline.Token);
            var reply = await Receive<JoinReply>(tls, deadline.Token);
            if (reply.Refused is { } refused) throw new JoinRefusedException($"{seed} refused to admit this machine: {refused}");
            if (reply.Certificate is null) throw new JoinRefusedException($"{seed} admitted this machine without a certificate");
            using var issued = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(reply.Certificate));
            var identity = ClusterIdentity.Of(X509CertificateLoader.LoadCertificate(authority.RawData), issued.CopyWithPrivateKey(key));
            if (identity.Machine != reply.Machine || !ClusterIdentity.ChainsTo(identity.Certificate, authority, out _))
                throw new JoinRefusedException($"{seed} sent a certificate that does not match what it said");
            return (identity, reply.Members ?? []);
        }
        catch (Exception ex) when (ex is IOException or SocketException or AuthenticationException or OperationCanceledException
            or JsonException or InvalidDataException or FormatException or CryptographicException or ArgumentException)
        {
            throw new JoinRefusedException(ex is OperationCanceledException
                ? $"{seed} did not answer within {Deadline.TotalSeconds:0} s: is a fos machine listening there (fos boot --listen)?"
                : $"cannot join through {seed}: {ex.Message}", ex);
        }
    }

    /// <summary>The admitting side, on a connection whose peer showed no certificate.</summary>
    /// <returns>The machine admitted, or null (and why, said in <paramref name="log"/>).</returns>
    public static async Task<ClusterMember?> Admit(Stream tls, ClusterAuthority? authority, ClusterIdentity identity, string remote, Action<string> log,
        CancellationToken cancel)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        deadline.CancelAfter(Deadline);
        try
        {
            await Send(tls, new JoinOffer(Convert.ToBase64String(identity.Authority.RawData)), deadline.Token);
            var request = await Receive<JoinRequest>(tls, deadline.Token);
            if (authority is null)
            {
                await Send(tls, new JoinReply(0, null, [], $"m{identity.Machine} cannot admit machines: join through the machine that made the cluster"), deadline.Token);
                return null;
            }
            string refusal;
            try
            {
                var token = JoinToken.Parse(request.Token);
                var signing = CertificateRequest.LoadSigningRequest(Convert.FromBase64String(request.SigningRequest ?? ""), HashAlgorithmName.SHA256);
                var (machine, certificate, members) = authority.Admit(token, signing.PublicKey, request.Address ?? "");
                using (certificate)
                    await Send(tls, new JoinReply(machine, Convert.ToBase64String(certificate.RawData), [.. members], null), deadline.Token);
                log($"m{machine} joined the cluster from {remote} (it accepts links at {(string.IsNullOrEmpty(request.Address) ? "no address" : request.Address)})");
                return new ClusterMember(machine, request.Address ?? "");
            }
            catch (Exception ex) when (ex is FormatException or UnauthorizedAccessException or CryptographicException or ArgumentException)
            {
                refusal = ex.Message;
            }
            log($"refused a machine joining from {remote}: {refusal}");
            await Send(tls, new JoinReply(0, null, [], refusal), deadline.Token);
            return null;
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or JsonException or InvalidDataException or ObjectDisposedException)
        {
            log($"a join from {remote} broke off: {ex.Message}");
            return null;
        }
    }

    public static async Task Send<T>(Stream stream, T message, CancellationToken cancel)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(message);
        var frame = new byte[sizeof(int) + body.Length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, body.Length);
        body.CopyTo(frame, sizeof(int));
        await stream.WriteAsync(frame, cancel);
        await stream.FlushAsync(cancel);
    }

    /// <summary>One message; a length out of bounds, a message that is not JSON of <typeparamref name="T"/>, or the end of the stream fails as <see cref="InvalidDataException"/>.</summary>
    public static async Task<T> Receive<T>(Stream stream, CancellationToken cancel)
    {
        var prefix = new byte[sizeof(int)];
        await ReadExactly(stream, prefix, cancel);
        var length = BinaryPrimitives.ReadInt32LittleEndian(prefix);
        if (length is <= 0 or > MaxMessage) throw new InvalidDataException($"a join message of {length} bytes (at most {MaxMessage})");
        var body = new byte[length];
        await ReadExactly(stream, body, cancel);
        try
        {
            return JsonSerializer.Deserialize<T>(body) ?? throw new InvalidDataException($"an empty {typeof(T).Name}");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"not a {typeof(T).Name}: {ex.Message}", ex);
        }
    }

    private static async Task ReadExactly(Stream stream, byte[] buffer, CancellationToken cancel)
    {
        try
        {
            await stream.ReadExactlyAsync(buffer, cancel);
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException("the other side hung up in the middle of the join");
        }
    }
}

/// <summary>A join that did not happen, with the reason and what to do.</summary>
public sealed class JoinRefusedException(string message, Exception? inner = null) : Exception(message, inner);
