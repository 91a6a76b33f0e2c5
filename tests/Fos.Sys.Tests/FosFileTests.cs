using System.Text;
using Fos.Kernel;
using Fos.Protocols.FileSystem;
using Fos.Runtime;
using Fos.Services;
using Fos.Simulation;
using Fos.Sys;

namespace Fos.Sys.Tests;

/// <summary>The System.IO-shaped library on both runtimes and on a simulated cluster, used the way .NET code uses files.</summary>
public sealed class FosFileTests : TestSystems
{

    private async Task<IFosRuntime> Boot(string kind)
    {
        var system = Create(kind, cores: 3, seed: 5);
        await StartNaming(kind, system);
        await SystemBoot.StartFileSystem(system, system.Cores.Skip(1).ToList()); // in a cluster, members on every machine
        return system;
    }

    private static Task<T> App<T>(IFosRuntime system, Func<Task<T>> program) =>
        system.Execute(system.Cores[0], _ => program(), TimeSpan.FromSeconds(60));

    [Theory]
    [MemberData(nameof(AndCluster))]
    public async Task Text_written_whole_reads_back_whole_and_by_lines_through_StreamReader(string kind)
    {
        await using var system = await Boot(kind);
        var lines = await App(system, async () =>
        {
            await FosDirectory.CreateDirectoryAsync("/home/ann/notes");
            await FosFile.WriteAllTextAsync("/home/ann/notes/todo.txt", "milk\neggs\nbread\n");
            await FosFile.AppendAllTextAsync("/home/ann/notes/todo.txt", "tea\n");
            await using var file = await FosFile.OpenReadAsync("/home/ann/notes/todo.txt");
            using var reader = new StreamReader(file);
            var read = new List<string>();
            while (await reader.ReadLineAsync() is { } line) read.Add(line);
            read.Add(await FosFile.ReadAllTextAsync("/home/ann/notes/todo.txt"));
            return read;
        });
        Assert.Equal(["milk", "eggs", "bread", "tea", "milk\neggs\nbread\ntea\n"], lines);
    }

    [Theory]
    [MemberData(nameof(AndCluster))]
    public async Task A_stream_copies_seeks_and_truncates_like_a_file_stream(string kind)
    {
        await using var system = await Boot(kind);
        var (copy, middle, lengthAfterTruncate) = await App(system, async () =>
        {
            var big = new byte[300_000];
            for (var i = 0; i < big.Length; i++) big[i] = (byte)(i * 13);
            await FosFile.WriteAllBytesAsync("/big.bin", big);
            await FosFile.CopyAsync("/big.bin", "/copy.bin");
            var copied = await FosFile.ReadAllBytesAsync("/copy.bin");

            await using var stream = await FosFile.OpenAsync("/copy.bin", FileMode.Open, FileAccess.ReadWrite);
            stream.Seek(100_000, SeekOrigin.Begin);
            await stream.WriteAsync(Encoding.ASCII.GetBytes("MARK"));
            stream.Position = 99_998;
            var around = new byte[8];
            var n = await stream.ReadAsync(around);
            await stream.SetLengthAsync(1000);
            return (copied.AsSpan().SequenceEqual(big), Encoding.Latin1.GetString(around, 0, n), stream.Length);
        });
        Assert.True(copy);
        static char At(int i) => (char)(byte)(i * 13);
        Assert.Equal($"{At(99_998)}{At(99_999)}MARK{At(100_004)}{At(100_005)}", middle);
        Assert.Equal(1000, lengthAfterTruncate);
    }

    [Theory]
    [MemberData(nameof(AndCluster))]
    public async Task Mistakes_raise_IOExceptions_with_their_errno_and_lose_nothing(string kind)
    {
        await using var system = await Boot(kind);
        var errors = await App(system, async () =>
        {
            await FosFile.WriteAllTextAsync("/keep.txt", "precious");
            var seen = new List<string>();
            async Task Expect(Func<Task> call)
            {
                try
                {
                    await call();
                    seen.Add("no error");
                }
                catch (FosIOException ex)
                {
                    seen.Add(ex.Errno.ToString());
                }
                catch (Exception ex) when (ex is ObjectDisposedException or NotSupportedException or ArgumentException)
                {
                    seen.Add(ex.GetType().Name);
                }
            }
            await Expect(() => FosFile.ReadAllTextAsync("/missing.txt"));
            await Expect(() => FosFile.ReadAllTextAsync("not/absolute"));
            await Expect(() => FosFile.OpenAsync("/keep.txt", FileMode.CreateNew, FileAccess.Write));
            await Expect(() => FosFile.MoveAsync("/keep.txt", "/keep.txt/inside"));
            await Expect(() => FosDirectory.DeleteAsync("/keep.txt"));
            var closed = await FosFile.OpenReadAsync("/keep.txt");
            await closed.DisposeAsync();
            await Expect(async () => _ = await closed.ReadAsync(new byte[4]));
            var readOnly = await FosFile.OpenReadAsync("/keep.txt");
            await Expect(async () => await readOnly.WriteAsync(new byte[4]));
            await Expect(() => Task.FromResult(readOnly.Read(new byte[4], 0, 4)));
            await readOnly.DisposeAsync();
            await Expect(() => FosFile.OpenAsync("/x", FileMode.Create, FileAccess.Read));
            seen.Add(await FosFile.ReadAllTextAsync("/keep.txt"));
            return seen;
        });
        Assert.Equal(["ENOENT", "EINVAL", "EEXIST", "ENOTDIR", "ENOTDIR", "ObjectDisposedException", "EBADF", "NotSupportedException", "ArgumentException", "precious"], errors);
    }

    [Fact]
    public async Task Calling_the_library_off_a_fos_core_says_where_it_works()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => FosFile.ReadAllTextAsync("/x"));
        Assert.Contains("not running on a fos core", error.Message);
    }

    [Theory]
    [MemberData(nameof(AndCluster))]
    public async Task Stat_answers_alike_whether_the_member_walks_the_path_at_once_or_asks_its_siblings(string kind)
    {
        // On a machine of its own a member owns every shard and answers a stat without an await;
        // across members it walks shard by shard. Either way the answers and the errors are these.
        await using var system = await Boot(kind);
        var seen = await App(system, async () =>
        {
            await FosDirectory.CreateDirectoryAsync("/s/t");
            await FosFile.WriteAllTextAsync("/s/t/u.txt", "12345");
            var said = new List<string>();
            foreach (var path in new[] { "/", "/s", "/s/t/u.txt", "//s///t/u.txt", "/s/nope", "/s/t/u.txt/deeper", "/s/t/u.txt/../u.txt", "/s/n\0l" })
            {
                try
                {
                    var a = await FosPosix.Stat(path);
                    said.Add($"{path}: {a.Kind} {a.Size}");
                }
                catch (FosIOException ex)
                {
                    said.Add($"{path}: {ex.Errno} {ex.Message.Contains(path, StringComparison.Ordinal)}");
                }
            }
            return said;
        });
        Assert.Equal(
        [
            "/: Directory 0", "/s: Directory 0", "/s/t/u.txt: File 5", "//s///t/u.txt: File 5",
            "/s/nope: ENOENT True", "/s/t/u.txt/deeper: ENOTDIR True", "/s/t/u.txt/../u.txt: EINVAL True", "/s/n\0l: EINVAL True",
        ], seen);
    }
}

/// <summary>A file system with a quota: a write past it fails with ENOSPC and loses nothing.</summary>
public class QuotaTests
{
    [Fact]
    public async Task A_write_past_the_quota_is_ENOSPC_and_freeing_space_lets_writes_in_again()
    {
        await using var system = new SimulatedSystem(new SimOptions { Seed = 2, CoresPerMachine = 2 });
        await SystemBoot.StartNaming(system);
        await SystemBoot.StartFileSystem(system, [system.Cores[1]], quotaBytesPerMember: 100_000);
        var seen = await system.Execute(system.Cores[0], async _ =>
        {
            var log = new List<string>();
            await FosFile.WriteAllBytesAsync("/a", new byte[60_000]);
            try
            {
                await FosFile.WriteAllBytesAsync("/b", new byte[60_000]);
                log.Add("b written");
            }
            catch (FosIOException ex)
            {
                log.Add($"{ex.Errno}: {ex.Message.Contains("no space left", StringComparison.Ordinal)}");
            }
            log.Add($"a {(await FosFile.StatAsync("/a")).Size}, b {(await FosFile.StatAsync("/b")).Size}");
            await FosFile.DeleteAsync("/a");
            await FosFile.WriteAllBytesAsync("/b", new byte[90_000]);
            log.Add($"b {(await FosFile.StatAsync("/b")).Size}");
            return log;
        });
        Assert.Equal(["ENOSPC: True", "a 60000, b 0", "b 90000"], seen);
    }
}

/// <summary>Edge cases that POSIX pins down and a review found.</summary>
public class FileEdgeTests
{
    [Fact]
    public async Task Holes_read_as_zeros_even_when_the_memory_a_read_is_built_in_held_other_data()
    {
        // Holes (never written, or cut off by a truncate) read as zeros, even in a read built in
        // memory that large reads had just filled with other bytes.
        await using var system = new SimulatedSystem(new SimOptions { Seed = 4, CoresPerMachine = 2 });
        await SystemBoot.StartNaming(system);
        await SystemBoot.StartFileSystem(system, [system.Cores[1]]);
        var (holes, tail, whole) = await system.Execute(system.Cores[0], async _ =>
        {
            var noise = new byte[1 << 20];
            Array.Fill(noise, (byte)0xAB);
            var dirty = await FosPosix.Open("/noise", new FsOpenFlags(Create: true, Write: true));
            await FosPosix.PWrite(dirty, 0, noise);
            for (var i = 0; i < 8; i++) await FosPosix.PRead(dirty, 0, noise.Length); // large reads that leave 0xAB behind them
            await FosPosix.Close(dirty);
            GC.Collect(); // their memory is free for the next large array, uncleared

            var file = await FosPosix.Open("/sparse", new FsOpenFlags(Create: true, Write: true));
            await FosPosix.PWrite(file, 0, "abc"u8);
            await FosPosix.PWrite(file, 200_000, "xyz"u8); // blocks 1 and 2 are never written
            await FosPosix.FTruncate(file, 100);          // the first block ends at 3 bytes; 3..99 is a hole
            await FosPosix.PWrite(file, 300_000, "end"u8);
            var read = await FosPosix.PRead(file, 0, 400_000);
            await FosPosix.Close(file);
            return (read.AsSpan(3, 300_000 - 3).IndexOfAnyExcept((byte)0), read.AsSpan(300_000).ToArray(), read.Length);
        });
        Assert.Equal(-1, holes);
        Assert.Equal("end"u8.ToArray(), tail);
        Assert.Equal(300_003, whole);
    }

    [Fact]
    public async Task Writing_nothing_past_the_end_changes_nothing_and_a_broken_path_is_EINVAL()
    {
        await using var system = new SimulatedSystem(new SimOptions { Seed = 3, CoresPerMachine = 2 });
        await SystemBoot.StartNaming(system);
        await SystemBoot.StartFileSystem(system, [system.Cores[1]]);
        var (size, errno) = await system.Execute(system.Cores[0], async _ =>
        {
            var file = await FosPosix.Open("/f", new FsOpenFlags(Create: true, Write: true));
            await FosPosix.PWrite(file, 0, "abc"u8);
            await FosPosix.PWrite(file, 1000, ReadOnlySpan<byte>.Empty);
            var size = (await FosPosix.FStat(file)).Size;
            await FosPosix.Close(file);
            try
            {
                await FosPosix.Stat("/x\uD800");
                return (size, (Errno?)null);
            }
            catch (FosIOException ex)
            {
                return (size, ex.Errno);
            }
        });
        Assert.Equal(3, size);
        Assert.Equal(Errno.EINVAL, errno);
    }
}
