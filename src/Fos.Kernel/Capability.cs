namespace Fos.Kernel;

/// <summary>
/// The right to send to one mailbox: a 128-bit random secret drawn by the kernel that owns the
/// mailbox. Whoever holds it may send; the owning kernel checks it on every delivery, so it cannot
/// be guessed, and revoking the mailbox's capability makes every copy of the old one useless.
/// </summary>
public readonly record struct Capability(ulong High, ulong Low)
{
    public static readonly Capability None = default;

    public bool IsNone => High == 0 && Low == 0;

    /// <summary>Only a prefix is ever printed: logs and layouts must not leak send rights.</summary>
    public override string ToString() => IsNone ? "cap:none" : $"cap:{High >> 40:x6}…";
}

/// <summary>A send right: the address of a mailbox and the capability that lets a message in.</summary>
public readonly record struct Endpoint(Address Address, Capability Capability)
{
    public override string ToString() => Address.ToString();
}
