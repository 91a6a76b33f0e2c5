using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Fos.Runtime.Network;

/// <summary>
/// What lets a new machine join: <c>FOS1.&lt;authority fingerprint&gt;.&lt;expiry&gt;.&lt;mac&gt;</c>.
/// The fingerprint (SHA-256 of the cluster authority's certificate) lets the joining machine know
/// it reached the right cluster before it says anything; the expiry (Unix seconds) bounds its use;
/// the mac (HMAC-SHA256 of both under the cluster's join key, which only the first machine keeps)
/// proves the cluster issued it. Nothing is stored per token: a new join key revokes them all.
/// This is the shape of <c>kubeadm join</c>'s and <c>docker swarm join</c>'s tokens.
/// </summary>
public sealed record JoinToken(string Fingerprint, long ExpiresUnixSeconds, byte[] Mac)
{
    private const string Prefix = "FOS1";

    public static JoinToken Create(string fingerprint, byte[] joinKey, TimeSpan ttl, DateTimeOffset now)
    {
        var expires = now.Add(ttl).ToUnixTimeSeconds();
        return new JoinToken(fingerprint.ToUpperInvariant(), expires, Sign(joinKey, fingerprint.ToUpperInvariant(), expires));
    }

    private static byte[] Sign(byte[] joinKey, string fingerprint, long expires) =>
        HMACSHA256.HashData(joinKey, Encoding.ASCII.GetBytes($"{Prefix}.{fingerprint}.{expires.ToString(CultureInfo.InvariantCulture)}"));

    public override string ToString() =>
        $"{Prefix}.{Fingerprint}.{ExpiresUnixSeconds.ToString(CultureInfo.InvariantCulture)}.{Convert.ToBase64String(Mac).TrimEnd('=').Replace('+', '-').Replace('/', '_')}";

    /// <exception cref="FormatException">It is not a join token (what is wrong with it is said).</exception>
    public static JoinToken Parse(string? text)
    {
        var parts = (text ?? "").Trim().Split('.');
        if (parts.Length != 4 || parts[0] != Prefix)
            throw new FormatException("not a fos join token: expected FOS1.FINGERPRINT.EXPIRY.MAC (print one with fos cluster token on a machine of the cluster)");
        if (parts[1].Length != 64 || !parts[1].All(Uri.IsHexDigit))
            throw new FormatException("the join token's fingerprint is not 64 hex digits");
        if (!long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var expires))
            throw new FormatException("the join token's expiry is not a number");
        byte[] mac;
        try
        {
            var base64 = parts[3].Replace('-', '+').Replace('_', '/');
            mac = Convert.FromBase64String(base64.PadRight(base64.Length + (4 - base64.Length % 4) % 4, '='));
        }
        catch (FormatException)
        {
            throw new FormatException("the join token's mac is not base64");
        }
        if (mac.Length != 32) throw new FormatException("the join token's mac is not 32 bytes");
        return new JoinToken(parts[1].ToUpperInvariant(), expires, mac);
    }

    /// <summary>Whether this token was made with <paramref name="joinKey"/> for <paramref name="fingerprint"/> and has not expired; says why not.</summary>
    public bool Admits(byte[] joinKey, string fingerprint, DateTimeOffset now, out string why)
    {
        if (!string.Equals(Fingerprint, fingerprint, StringComparison.OrdinalIgnoreCase))
            why = "the token is for another cluster";
        else if (!CryptographicOperations.FixedTimeEquals(Mac, Sign(joinKey, Fingerprint, ExpiresUnixSeconds)))
            why = "the token was not issued by this cluster (or its join key was changed since)";
        else if (now.ToUnixTimeSeconds() >= ExpiresUnixSeconds)
            why = $"the token expired at {DateTimeOffset.FromUnixTimeSeconds(ExpiresUnixSeconds):u}: print a new one with fos cluster token";
        else
        {
            why = "";
            return true;
        }
        return false;
    }
}
