using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Fos.Kernel;

/// <summary>A core of a fos system: machine and core number, printed <c>m1.c3</c>.</summary>
public readonly record struct CoreId(ushort Machine, ushort Core) : IComparable<CoreId>
{
    public override string ToString() => $"m{Machine}.c{Core}";

    /// <summary>Machine by machine, then core by core.</summary>
    public int CompareTo(CoreId other) => Machine != other.Machine ? Machine.CompareTo(other.Machine) : Core.CompareTo(other.Core);

    /// <summary>The kernel's own control mailbox on this core.</summary>
    public Address Kernel => new(Machine, Core, Address.KernelMailbox);

    public static CoreId Parse(string text) =>
        TryParse(text, out var id) ? id : throw new FormatException($"'{text}' is not a core id; expected the form m1.c3");

    public static bool TryParse(string? text, out CoreId id)
    {
        id = default;
        if (text is null) return false;
        var parts = text.Split('.');
        if (parts.Length != 2 || !Address.TryNumber(parts[0], 'm', out var m) || !Address.TryNumber(parts[1], 'c', out var c)
            || m > ushort.MaxValue || c > ushort.MaxValue)
            return false;
        id = new CoreId((ushort)m, (ushort)c);
        return true;
    }
}

/// <summary>
/// Where a mailbox lives: <c>machine.core.mailbox</c>, printed <c>m1.c3.b7</c>. Eight bytes, so a
/// whole message header fits in one cache-line slot of a cross-core ring.
/// </summary>
public readonly record struct Address(ushort Machine, ushort Core, uint Mailbox)
{
    /// <summary>Mailbox 0 on every core belongs to the kernel itself (spawn, name-cache control, replies).</summary>
    public const uint KernelMailbox = 0;

    public CoreId CoreId => new(Machine, Core);

    public override string ToString() => $"m{Machine}.c{Core}.b{Mailbox}";

    public static Address Parse(string text) =>
        TryParse(text, out var a) ? a : throw new FormatException($"'{text}' is not an address; expected the form m1.c3.b7");

    public static bool TryParse([NotNullWhen(true)] string? text, out Address address)
    {
        address = default;
        if (text is null) return false;
        var parts = text.Split('.');
        if (parts.Length != 3 || !TryNumber(parts[0], 'm', out var m) || !TryNumber(parts[1], 'c', out var c)
            || !TryNumber(parts[2], 'b', out var b) || m > ushort.MaxValue || c > ushort.MaxValue)
            return false;
        address = new Address((ushort)m, (ushort)c, (uint)b);
        return true;
    }

    internal static bool TryNumber(string part, char prefix, out ulong value)
    {
        value = 0;
        return part.Length > 1 && part[0] == prefix
            && ulong.TryParse(part.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out value)
            && value <= uint.MaxValue;
    }
}
