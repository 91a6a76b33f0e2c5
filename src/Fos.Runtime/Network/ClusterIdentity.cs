using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Fos.Runtime.Network;

/// <summary>
/// Who a machine is in its cluster, as TLS proves it: the cluster's certificate authority (its own,
/// made by the first machine, which alone keeps its private key) and this machine's certificate,
/// signed by it, whose subject names the machine's number (<c>CN=fos machine 2</c>). Links between
/// machines use mutual TLS 1.3 with these, and a peer is trusted only if its certificate chains to
/// this cluster's authority, and is who it says only as far as that certificate says.
/// All of it is .NET's X.509 and ECDSA (P-256); nothing here is hand-made cryptography.
/// </summary>
public sealed class ClusterIdentity : IDisposable
{
    private const string SubjectPrefix = "CN=fos machine ";

    private ClusterIdentity(X509Certificate2 authority, X509Certificate2 certificate, ushort machine)
    {
        Authority = authority;
        Certificate = certificate;
        Machine = machine;
    }

    /// <summary>The cluster's authority (with its private key only on the machine that made it).</summary>
    public X509Certificate2 Authority { get; }

    /// <summary>This machine's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    public ushort Machine { get; }

    /// <summary>Whether this machine holds the authority's key, so it can let others join.</summary>
    public bool CanIssue => Authority.HasPrivateKey;

    /// <summary>The authority's SHA-256 fingerprint: what a join token pins.</summary>
    public string Fingerprint => Authority.GetCertHashString(HashAlgorithmName.SHA256);

    /// <summary>A new cluster: a fresh authority, and a certificate from it for <paramref name="machine"/>.</summary>
    public static ClusterIdentity CreateCluster(ushort machine = 1)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=fos cluster authority {Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        var authority = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(20));
        var (certificate, _) = Issue(authority, machine);
        return new ClusterIdentity(authority, certificate, machine);
    }

    /// <summary>A certificate for machine <paramref name="machine"/>, with a new key, from this cluster's authority (on the machine that holds its key).</summary>
    public X509Certificate2 IssueFor(ushort machine)
    {
        if (!CanIssue) throw new InvalidOperationException("only the machine that made the cluster holds its authority's key");
        return Issue(Authority, machine).Certificate;
    }

    /// <summary>A certificate for machine <paramref name="machine"/> over a key it holds (the public half given), from this cluster's authority.</summary>
    public X509Certificate2 IssueFor(ushort machine, PublicKey key)
    {
        if (!CanIssue) throw new InvalidOperationException("only the machine that made the cluster holds its authority's key");
        return Sign(Authority, new CertificateRequest(new X500DistinguishedName(SubjectPrefix + machine.ToString(CultureInfo.InvariantCulture)), key, HashAlgorithmName.SHA256));
    }

    private static (X509Certificate2 Certificate, ECDsa Key) Issue(X509Certificate2 authority, ushort machine)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var signed = Sign(authority, new CertificateRequest(SubjectPrefix + machine.ToString(CultureInfo.InvariantCulture), key, HashAlgorithmName.SHA256));
        return (signed.CopyWithPrivateKey(key), key);
    }

    private static X509Certificate2 Sign(X509Certificate2 authority, CertificateRequest request)
    {
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // server and client authentication
        var now = DateTimeOffset.UtcNow;
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        return request.Create(authority, now.AddMinutes(-5), now.AddYears(10), serial);
    }

    /// <summary>Whether <paramref name="certificate"/> chains to <paramref name="authority"/> alone.</summary>
    public static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 authority, out string why)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (!chain.Build(certificate))
        {
            why = $"its certificate ({certificate.Subject}) is not from this cluster: {string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()))}";
            return false;
        }
        if (chain.ChainElements[^1].Certificate.Thumbprint != authority.Thumbprint)
        {
            why = $"its certificate ({certificate.Subject}) chains to another authority";
            return false;
        }
        why = "";
        return true;
    }

    /// <summary>This machine's identity from what it was given when it joined: the authority (public) and its certificate with key.</summary>
    public static ClusterIdentity Of(X509Certificate2 authority, X509Certificate2 certificate)
    {
        if (!certificate.HasPrivateKey) throw new ArgumentException("a machine's certificate needs its private key", nameof(certificate));
        var machine = MachineOf(certificate) ?? throw new ArgumentException($"'{certificate.Subject}' names no fos machine", nameof(certificate));
        return new ClusterIdentity(authority, certificate, machine);
    }

    /// <summary>
    /// Whether <paramref name="peer"/> is a machine of this cluster: its certificate chains to this
    /// cluster's authority and no other, is valid now, and names a machine. Says why not otherwise.
    /// </summary>
    public bool TryValidate(X509Certificate? peer, out ushort machine, out string why)
    {
        machine = 0;
        if (peer is null)
        {
            why = "it showed no certificate";
            return false;
        }
        using var certificate = X509CertificateLoader.LoadCertificate(peer.GetRawCertData());
        if (!ChainsTo(certificate, Authority, out why)) return false;
        if (MachineOf(certificate) is not { } number)
        {
            why = $"its certificate ({certificate.Subject}) names no fos machine";
            return false;
        }
        machine = number;
        why = "";
        return true;
    }

    private static ushort? MachineOf(X509Certificate2 certificate) =>
        certificate.Subject.StartsWith(SubjectPrefix, StringComparison.Ordinal)
        && ushort.TryParse(certificate.Subject.AsSpan(SubjectPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var machine)
        && machine > 0
            ? machine : null;

    // ---- on disk -----------------------------------------------------------------------------

    private const string AuthorityFile = "authority.crt";
    private const string AuthorityKeyFile = "authority.pfx";
    private const string MachineFile = "machine.pfx";

    /// <summary>
    /// Keeps the identity in <paramref name="directory"/> (its owner's alone): the authority's
    /// certificate, its key too where this machine holds it, and this machine's certificate and key.
    /// </summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Write(Path.Combine(directory, AuthorityFile), Authority.Export(X509ContentType.Cert));
        if (CanIssue) Write(Path.Combine(directory, AuthorityKeyFile), Authority.Export(X509ContentType.Pkcs12));
        Write(Path.Combine(directory, MachineFile), Certificate.Export(X509ContentType.Pkcs12));
    }

    private static void Write(string path, byte[] bytes)
    {
        var temporary = path + ".new";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // keys are the owner's alone
        using (var file = new FileStream(temporary, options))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>The identity kept in <paramref name="directory"/>, or null if none is.</summary>
    /// <exception cref="InvalidDataException">The files are there but are not a fos identity.</exception>
    public static ClusterIdentity? Load(string directory)
    {
        var (authorityPath, keyPath, machinePath) = (Path.Combine(directory, AuthorityFile), Path.Combine(directory, AuthorityKeyFile), Path.Combine(directory, MachineFile));
        if (!File.Exists(authorityPath) || !File.Exists(machinePath)) return null;
        try
        {
            var authority = File.Exists(keyPath)
                ? X509CertificateLoader.LoadPkcs12(File.ReadAllBytes(keyPath), null)
                : X509CertificateLoader.LoadCertificate(File.ReadAllBytes(authorityPath));
            var certificate = X509CertificateLoader.LoadPkcs12(File.ReadAllBytes(machinePath), null);
            return Of(authority, certificate);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new InvalidDataException($"{directory} holds no usable cluster identity ({ex.Message}): restore it, or remove it and join the cluster again", ex);
        }
    }

    public void Dispose()
    {
        Authority.Dispose();
        Certificate.Dispose();
    }
}
