namespace Fos.Runtime.Processes;

/// <summary>
/// A memfd mapped MAP_SHARED: the memory one application process and the machine share, nothing
/// else. The creator sizes it and seals its size, so the other process, which holds the same file,
/// cannot shrink it under the machine's mapping (a shrunk file would fault the machine on access).
/// </summary>
public sealed unsafe class SharedMemory : IDisposable
{
    private nint address;

    private SharedMemory(int fd, long length, nint address)
    {
        Fd = fd;
        Length = length;
        this.address = address;
    }

    /// <summary>Makes a close-on-exec memfd of <paramref name="bytes"/> zeroed bytes, sealed at that size, and maps it.</summary>
    public static SharedMemory Create(string name, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        var fd = Libc.memfd_create(name, Libc.MFD_CLOEXEC | Libc.MFD_ALLOW_SEALING);
        if (fd < 0) throw Libc.Error("memfd_create");
        try
        {
            if (Libc.ftruncate(fd, bytes) != 0) throw Libc.Error("ftruncate");
            if (Libc.fcntl(fd, Libc.F_ADD_SEALS, Libc.F_SEAL_SHRINK | Libc.F_SEAL_GROW | Libc.F_SEAL_SEAL) != 0)
                throw Libc.Error("fcntl(F_ADD_SEALS)");
            return new SharedMemory(fd, bytes, MapShared(fd, bytes));
        }
        catch
        {
            Libc.close(fd);
            throw;
        }
    }

    /// <summary>
    /// Maps <paramref name="bytes"/> of a shared-memory fd received from the parent, and takes
    /// ownership of the fd. Refuses a file smaller than that, whose tail would fault on access.
    /// </summary>
    public static SharedMemory Map(int fd, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        var size = Libc.lseek(fd, 0, Libc.SEEK_END);
        if (size < 0) throw Libc.Error("lseek");
        if (size < bytes) throw new IOException($"shared memory fd {fd} holds {size} bytes, fewer than the {bytes} to map");
        return new SharedMemory(fd, bytes, MapShared(fd, bytes));
    }

    private static nint MapShared(int fd, long bytes)
    {
        var mapped = Libc.mmap(0, (nuint)bytes, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
        if (mapped == -1) throw Libc.Error("mmap");
        return mapped;
    }

    public int Fd { get; private set; }

    public long Length { get; }

    /// <summary>The start of the mapping; valid until <see cref="Dispose"/>.</summary>
    public byte* Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(address == 0, this);
            return (byte*)address;
        }
    }

    /// <summary>The bytes [offset, offset + length) of the mapping; valid until <see cref="Dispose"/>.</summary>
    public Span<byte> GetSpan(long offset, int length) => new(At(offset, length), length);

    /// <summary>A pointer to [offset, offset + length), checked to lie inside the mapping.</summary>
    public byte* At(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > Length - length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) is outside the {Length} bytes mapped");
        return Pointer + offset;
    }

    /// <summary>
    /// Whether a child started from now on inherits the fd (clears or sets FD_CLOEXEC). Every child
    /// started while it is set inherits it, so set it only around the start of the one that should.
    /// </summary>
    public void SetInheritable(bool inheritable)
    {
        ObjectDisposedException.ThrowIf(Fd < 0, this);
        Libc.SetInheritable(Fd, inheritable);
    }

    public void Dispose()
    {
        if (address != 0)
        {
            Libc.munmap(address, (nuint)Length);
            address = 0;
        }
        if (Fd >= 0)
        {
            Libc.close(Fd);
            Fd = -1;
        }
    }
}
