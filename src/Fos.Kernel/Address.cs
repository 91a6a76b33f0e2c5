using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Fos.Kernel;

/// <summary>
/// A core of a fos system: machine and core number, printed <c>m1.c3</c>. An application process
/// runs on a core of its own, numbered from <see cref="FirstProcessCore"/> and printed <c>m1.p5</c>:
/// its kernel lives in the process, so the machine can tell by the number alone whether a message
/// came from its own trusted cores or from an application.
/// </summary>
public readonly record struct CoreId(ushort Machine, ushort Core) : IComparable<CoreId>
{
    /// <summary>Core numbers from here on are application processes' cores (<c>p0</c> is this one).</summary>
    public const ushort FirstProcessCore = 0x8000;

    /// <summary>Whether this core is an application process's (untrusted) rather than one of the machine's own.</summary>
    public bool IsProcess => Core >= FirstProcessCore;

    /// <summary>The core of the <paramref name="slot"/>th application process of a machine.</summary>
    public static CoreId Process(ushort machine, int slot) =>
        slot is >= 0 and < ushort.MaxValue - FirstProcessCore
            ? new(machine, (ushort)(FirstProcessCore + slot))
            : throw new ArgumentOutOfRangeException(nameof(slot), slot, "no such process slot");

    public override string ToString() => IsProcess ? $"m{Machine}.p{Core - FirstProcessCore}" : $"m{Machine}.c{Core}";

    /// <summary>Machine by machine, then core by core.</summary>
    public int CompareTo(CoreId other) => Machine != other.Machine ? Machine.CompareTo(other.Machine) : Core.CompareTo(other.Core);

    /// <summary>The kernel's own control mailbox on this core.</summary>
    public Address Kernel => new(Machine, Core, Address.KernelMailbox);

    public static CoreId Parse(string text) =>
        TryParse(text, out var id) ? id : throw new FormatException($"'{text}' is not a core id; expected the form m1.c3 (or m1.p3 for a process)");

    public static bool TryParse(string? text, out CoreId id)
    {
        id = default;
        if (text is null) return false;
        var parts = text.Split('.');
        if (parts.Length != 2 || !Address.TryNumber(parts[0], 'm', out var m) || m > ushort.MaxValue || !TryCore(parts[1], out var c))
            return false;
        id = new CoreId((ushort)m, c);
        return true;
    }

    /// <summary>A core part: <c>c3</c> (a machine core) or <c>p3</c> (a process core).</summary>
    internal static bool TryCore(string part, out ushort core)
    {
        core = 0;
        if (Address.TryNumber(part, 'c', out var c) && c < FirstProcessCore)
        {
            core = (ushort)c;
            return true;
        }
        if (Address.TryNumber(part, 'p', out var p) && p < ushort.MaxValue - FirstProcessCore)
        {
            core = (ushort)(FirstProcessCore + p);
            return true;
        }
        return false;
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

    public override string ToString() => $"{CoreId}.b{Mailbox}";

    public static Address Parse(string text) =>
        TryParse(text, out var a) ? a : throw new FormatException($"'{text}' is not an address; expected the form m1.c3.b7");

    public static bool TryParse([NotNullWhen(true)] string? text, out Address address)
    {
        address = default;
        if (text is null) return false;
        var parts = text.Split('.');
        if (parts.Length != 3 || !TryNumber(parts[0], 'm', out var m) || m > ushort.MaxValue || !CoreId.TryCore(parts[1], out var c)
            || !TryNumber(parts[2], 'b', out var b))
            return false;
        address = new Address((ushort)m, c, (uint)b);
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
