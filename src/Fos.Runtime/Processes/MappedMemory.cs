using System.Buffers;

namespace Fos.Runtime.Processes;

/// <summary>
/// A <see cref="Memory{T}"/> over a shared mapping, so an application reads and writes its granted
/// pages directly (no copy, no message). Whoever made the mapping unmaps it (on free, or when its
/// process ends); this only lends it out.
/// </summary>
internal sealed unsafe class MappedMemory(SharedMemory mapping, int length) : MemoryManager<byte>
{
    public SharedMemory Mapping { get; } = mapping;

    public override Span<byte> GetSpan() => new(Mapping.Pointer, length);

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, length);
        return new MemoryHandle(Mapping.Pointer + elementIndex);
    }

    public override void Unpin() { }

    protected override void Dispose(bool disposing) { }
}
