using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using DotNext.Net.Security;

namespace Fos.Runtime.Network;

/// <summary>
/// The directory nodes' TLS, as the machines' links have it (<see cref="TcpLinks"/>): TLS 1.3 in
/// both directions, this machine's certificate shown as server and as client, and a peer trusted
/// only if its certificate chains to this cluster's authority and names a machine. A refused peer
/// is said in the log, once for each reason (a node retries every few milliseconds).
/// </summary>
internal sealed class DirectoryTls(ClusterIdentity identity, Action<string> log)
{
    private readonly Lock gate = new();
    private string? lastRefusal;

    public SslOptions Options() => new()
    {
        ServerOptions = new SslServerAuthenticationOptions
        {
            ServerCertificate = identity.Certificate,
            ClientCertificateRequired = true,
            EnabledSslProtocols = SslProtocols.Tls13,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = (_, certificate, _, _) => Trusted(certificate, "refused a directory connection from"),
        },
        ClientOptions = new SslClientAuthenticationOptions
        {
            TargetHost = "fos directory",
            ClientCertificates = [identity.Certificate],
            EnabledSslProtocols = SslProtocols.Tls13,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = (_, certificate, _, _) => Trusted(certificate, "refused the directory node it dialled"),
        },
    };

    private bool Trusted(X509Certificate? certificate, string refusal)
    {
        if (identity.TryValidate(certificate, out _, out var why)) return true;
        Refused($"{refusal} {Subject(certificate)}: {why}");
        return false;
    }

    private static string Subject(X509Certificate? certificate) => certificate is null ? "a peer" : $"'{certificate.Subject}'";

    private void Refused(string line)
    {
        lock (gate)
        {
            if (line == lastRefusal) return;
            lastRefusal = line;
        }
        log(line);
    }
}
