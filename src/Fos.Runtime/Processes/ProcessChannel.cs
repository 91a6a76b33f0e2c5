using System.Buffers.Binary;
using Fos.Kernel;
using Fos.Protocols.Wire;

namespace Fos.Runtime.Processes;

/// <summary>
/// The memory one application process shares with its machine, and nothing else does: a header,
/// a flag per machine core that says "parked, wake me", and two frame rings per machine core (to
/// the process, from the process). The machine makes it and fills the header; the process maps it
/// from an inherited fd and reads what it needs to run its core from there, so nothing secret
/// (such as the name server's capability) shows on a command line.
/// <code>
/// [0, 4096)       header: magic, version, cores, process core, ring capacity, pid, name server;
///                 at 64 the process's "parked" flag; at 128 how its program ended (written by it)
/// [4096, 8192)    one int32 per machine core: 1 while that core is parked
/// [8192, ...)     rings: to process from core i at 2i, from process to core i at 2i + 1
/// </code>
/// The process is untrusted: the machine reads nothing from here without checking it (the rings
/// check themselves; the end record is bounded).
/// </summary>
public sealed unsafe class ProcessChannel : IDisposable
{
    private const ulong Magic = 0x316e68632d736f66; // "fos-chn1"
    private const int Version = 1;
    private const int ProcessParkedOffset = 64;
    private const int EndOffset = 128;
    private const int EndReasonOffset = EndOffset + 12;
    private const int MaxEndReason = 1024 - EndReasonOffset;
    private const int CoreParkedOffset = 4096;
    private const int RingsOffset = 8192;

    private readonly SharedMemory memory;
    private readonly byte* header;

    private ProcessChannel(SharedMemory memory, int cores, int ringCapacity)
    {
        this.memory = memory;
        header = memory.At(0, RingsOffset);
        Cores = cores;
        RingCapacity = ringCapacity;
        RegionBytes = FrameRing.RegionBytes(ringCapacity);
    }

    /// <summary>The machine's side: a new channel for a process on <paramref name="core"/>.</summary>
    public static ProcessChannel Create(CoreId core, long pid, int machineCores, int ringCapacity, Endpoint nameServer)
    {
        var channel = CreateUnassigned(machineCores, ringCapacity);
        channel.Assign(core, pid, nameServer);
        return channel;
    }

    /// <summary>
    /// The machine's side: a channel whose process is not known yet (a warm host's, which reads
    /// the header only once it is told to run a program); <see cref="Assign"/> fills it in.
    /// </summary>
    public static ProcessChannel CreateUnassigned(int machineCores, int ringCapacity)
    {
        if (machineCores is < 1 or > Machine.MaxCores) throw new ArgumentOutOfRangeException(nameof(machineCores));
        var region = FrameRing.RegionBytes(ringCapacity);
        var memory = SharedMemory.Create("fos process channel", RingsOffset + 2L * machineCores * region);
        var channel = new ProcessChannel(memory, machineCores, ringCapacity);
        var h = new Span<byte>(channel.header, RingsOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(h, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(h[8..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(h[12..], machineCores);
        BinaryPrimitives.WriteInt32LittleEndian(h[20..], ringCapacity);
        for (var i = 0; i < 2 * machineCores; i++) FrameRing.Initialize(memory, RingsOffset + (long)i * region, region);
        return channel;
    }

    /// <summary>The machine's side: the process this channel serves, its core and the name server it starts from.</summary>
    public void Assign(CoreId core, long pid, Endpoint nameServer)
    {
        var h = new Span<byte>(header, RingsOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(h[16..], core.Machine);
        BinaryPrimitives.WriteUInt16LittleEndian(h[18..], core.Core);
        BinaryPrimitives.WriteInt64LittleEndian(h[24..], pid);
        EnvelopeFrame.WriteEndpoint(h[32..], nameServer);
    }

    /// <summary>The process's side: the channel its machine passed it as <paramref name="fd"/>.</summary>
    public static ProcessChannel Open(int fd)
    {
        var size = Libc.lseek(fd, 0, Libc.SEEK_END);
        if (size < RingsOffset) throw new InvalidDataException($"fd {fd} is not a fos process channel ({size} bytes)");
        var memory = SharedMemory.Map(fd, size);
        try
        {
            var h = new ReadOnlySpan<byte>(memory.At(0, RingsOffset), RingsOffset);
            if (BinaryPrimitives.ReadUInt64LittleEndian(h) != Magic || BinaryPrimitives.ReadInt32LittleEndian(h[8..]) != Version)
                throw new InvalidDataException($"fd {fd} is not a fos process channel of version {Version}");
            var cores = BinaryPrimitives.ReadInt32LittleEndian(h[12..]);
            var capacity = BinaryPrimitives.ReadInt32LittleEndian(h[20..]);
            if (cores is < 1 or > Machine.MaxCores || size < RingsOffset + 2L * cores * FrameRing.RegionBytes(capacity))
                throw new InvalidDataException($"fd {fd} holds a channel header that does not fit its {size} bytes");
            return new ProcessChannel(memory, cores, capacity);
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    public int Fd => memory.Fd;

    /// <summary>The machine's cores: one pair of rings each.</summary>
    public int Cores { get; }

    public int RingCapacity { get; }

    private int RegionBytes { get; }

    private ReadOnlySpan<byte> Header => new(header, RingsOffset);

    /// <summary>The process's own core.</summary>
    public CoreId Core => new(BinaryPrimitives.ReadUInt16LittleEndian(Header[16..]), BinaryPrimitives.ReadUInt16LittleEndian(Header[18..]));

    public long Pid => BinaryPrimitives.ReadInt64LittleEndian(Header[24..]);

    public Endpoint NameServer => EnvelopeFrame.ReadEndpoint(Header[32..]);

    /// <summary>The ring machine core <paramref name="core"/> writes and the process reads.</summary>
    public FrameRing ToProcess(int core, bool hostilePeer) => Ring(2 * core, hostilePeer);

    /// <summary>The ring the process writes and machine core <paramref name="core"/> reads.</summary>
    public FrameRing FromProcess(int core, bool hostilePeer) => Ring(2 * core + 1, hostilePeer);

    private FrameRing Ring(int index, bool hostilePeer)
    {
        if ((uint)index >= (uint)(2 * Cores)) throw new ArgumentOutOfRangeException(nameof(index));
        return new FrameRing(memory, RingsOffset + (long)index * RegionBytes, RegionBytes, hostilePeer);
    }

    /// <summary>Set by the process before it parks, cleared when it runs: the machine signals its wake-up fd only when set.</summary>
    public ref int ProcessParked => ref *(int*)(header + ProcessParkedOffset);

    /// <summary>Set by machine core <paramref name="core"/> while it is parked: the process signals that core's fd only when set.</summary>
    public ref int CoreParked(int core)
    {
        if ((uint)core >= (uint)Cores) throw new ArgumentOutOfRangeException(nameof(core));
        return ref *(int*)(header + CoreParkedOffset + 4 * core);
    }

    /// <summary>The process's side: how its program ended, for the machine to read once it has exited.</summary>
    public void WriteEnd(int exitCode, string? failure)
    {
        var end = new Span<byte>(header + EndOffset, EndReasonOffset - EndOffset + MaxEndReason);
        var reason = System.Text.Encoding.UTF8.GetBytes(failure ?? "");
        var length = Math.Min(reason.Length, MaxEndReason);
        reason.AsSpan(0, length).CopyTo(end[12..]);
        BinaryPrimitives.WriteInt32LittleEndian(end[4..], exitCode);
        BinaryPrimitives.WriteInt32LittleEndian(end[8..], length);
        Volatile.Write(ref *(int*)(header + EndOffset), failure is null ? 1 : 2);
    }

    /// <summary>
    /// The machine's side, after the process exited: what it said about its end (exit code, and
    /// why it failed), or null if it said nothing (it crashed, or was killed). Bounded, whatever it wrote.
    /// </summary>
    public (int ExitCode, string? Failure)? ReadEnd()
    {
        var end = Header[EndOffset..];
        var state = BinaryPrimitives.ReadInt32LittleEndian(end);
        if (state is not (1 or 2)) return null;
        var code = BinaryPrimitives.ReadInt32LittleEndian(end[4..]);
        var length = Math.Clamp(BinaryPrimitives.ReadInt32LittleEndian(end[8..]), 0, MaxEndReason);
        return (code, state == 2 ? System.Text.Encoding.UTF8.GetString(end.Slice(12, length)) : null);
    }

    /// <summary>Lets the next child started inherit the fd (only around the start of this channel's process).</summary>
    public void SetInheritable(bool inheritable) => memory.SetInheritable(inheritable);

    public void Dispose() => memory.Dispose();
}
