using Fos.Runtime.Processes;

namespace Fos.Runtime.Tests;

public class SharedMemoryTests
{
    private const int Size = 64 * 1024;

    [Fact]
    public void A_new_memory_is_zeroed_and_as_long_as_asked()
    {
        using var memory = SharedMemory.Create("fos-test-zeroed", Size);
        Assert.Equal(Size, memory.Length);
        Assert.True(memory.Fd >= 0);
        Assert.True(memory.GetSpan(0, Size).IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void Two_mappings_of_one_memfd_see_each_others_writes()
    {
        using var first = SharedMemory.Create("fos-test-twice", Size);
        using var second = SharedMemory.Map(Posix.Dup(first.Fd), Size);
        "hello"u8.CopyTo(first.GetSpan(100, 5));
        Assert.Equal("hello"u8.ToArray(), second.GetSpan(100, 5).ToArray());
        second.GetSpan(Size - 1, 1)[0] = 42;
        Assert.Equal(42, first.GetSpan(Size - 1, 1)[0]);
    }

    [Fact]
    public void Mapping_more_than_the_file_holds_is_refused()
    {
        using var memory = SharedMemory.Create("fos-test-short", Size);
        var fd = Posix.Dup(memory.Fd);
        var error = Assert.Throws<IOException>(() => SharedMemory.Map(fd, Size + 4096));
        Assert.Contains("fewer than", error.Message);
        using var owner = SharedMemory.Map(fd, Size); // the refused fd stays the caller's to use
    }

    [Fact]
    public void A_failed_call_is_named_with_its_errno()
    {
        var error = Assert.Throws<IOException>(() => SharedMemory.Map(int.MaxValue, Size));
        Assert.Contains("lseek failed: errno 9", error.Message); // EBADF
    }

    [Theory]
    [InlineData(-1L, 1)]
    [InlineData(0L, Size + 1)]
    [InlineData(Size, 1)]
    [InlineData(Size - 4L, 8)]
    public void A_range_outside_the_mapping_is_refused(long offset, int length)
    {
        using var memory = SharedMemory.Create("fos-test-range", Size);
        Assert.Throws<ArgumentOutOfRangeException>(() => memory.GetSpan(offset, length));
    }

    [Fact]
    public void A_disposed_memory_refuses_use_and_disposes_twice_quietly()
    {
        var memory = SharedMemory.Create("fos-test-disposed", Size);
        memory.Dispose();
        memory.Dispose();
        Assert.Equal(-1, memory.Fd);
        Assert.Throws<ObjectDisposedException>(() => memory.GetSpan(0, 1));
        Assert.Throws<ObjectDisposedException>(() => memory.SetInheritable(true));
    }

    [Fact]
    public void A_child_that_inherits_the_memfd_shares_its_bytes_both_ways()
    {
        using var memory = SharedMemory.Create("fos-test-child", Size);
        "from the parent"u8.CopyTo(memory.GetSpan(4096, 15));
        memory.SetInheritable(true);
        var fd = memory.Fd;
        // `1<>` opens without truncating; dd reads at an offset. Each goes through the child's copy of the fd.
        var (exit, output, errors) = Posix.Shell(
            $"printf 'from the child' 1<>/proc/self/fd/{fd} && dd if=/proc/self/fd/{fd} bs=1 skip=4096 count=15 2>/dev/null");
        memory.SetInheritable(false);
        Assert.True(exit == 0, errors);
        Assert.Equal("from the parent", output);
        Assert.Equal("from the child"u8.ToArray(), memory.GetSpan(0, 14).ToArray());
    }

    [Fact]
    public void A_child_does_not_inherit_the_memfd_unless_asked()
    {
        using var memory = SharedMemory.Create("fos-test-private", Size);
        var (_, output, _) = Posix.Shell($"readlink /proc/self/fd/{memory.Fd}");
        Assert.DoesNotContain("fos-test-private", output);

        memory.SetInheritable(true);
        (_, output, _) = Posix.Shell($"readlink /proc/self/fd/{memory.Fd}");
        memory.SetInheritable(false);
        Assert.Contains("memfd:fos-test-private", output);
    }

    [Fact]
    public void A_child_can_neither_shrink_nor_grow_the_memfd()
    {
        using var memory = SharedMemory.Create("fos-test-sealed", Size);
        memory.SetInheritable(true);
        var (shrink, _, _) = Posix.Shell($"truncate -s 0 /proc/self/fd/{memory.Fd}");
        var (grow, _, _) = Posix.Shell($"truncate -s 1M /proc/self/fd/{memory.Fd}");
        memory.SetInheritable(false);
        Assert.NotEqual(0, shrink);
        Assert.NotEqual(0, grow);
        memory.GetSpan(Size - 1, 1)[0] = 7; // still backed: a shrunk file would fault here
        using var again = SharedMemory.Map(Posix.Dup(memory.Fd), Size);
        Assert.Equal(7, again.GetSpan(Size - 1, 1)[0]);
    }
}
