using System.Runtime.InteropServices;
using System.Text;
using CsCheck;
using Fos.Kernel;
using Fos.Protocols.FileSystem;
using Fos.Services;
using Fos.Simulation;
using Fos.Sys;

namespace Fos.Sys.Tests;

/// <summary>
/// File-system semantics, by difference: one random sequence of calls runs against fos (a
/// three-member fleet in the simulator, through <see cref="FosPosix"/>) and against a temporary
/// directory of the host (through libc), and every call must give the same result or the same
/// errno. A failing sequence shrinks to a short one, printed with the seed that replays it.
/// </summary>
public class DifferentialFileSystemTests
{
    public abstract record Op;
    public sealed record Mkdir(string Path) : Op;
    public sealed record Rmdir(string Path) : Op;
    public sealed record Unlink(string Path) : Op;
    public sealed record Rename(string From, string To) : Op;
    public sealed record CreateNew(string Path) : Op;
    public sealed record Write(string Path, int Offset, int Length, byte Fill) : Op;
    public sealed record Truncate(string Path, int Length) : Op;
    public sealed record Read(string Path) : Op;
    public sealed record Stat(string Path) : Op;
    public sealed record List(string Path) : Op;

    private static readonly Gen<string> Paths =
        Gen.Int[0, 2].Select(i => "abc"[i].ToString()).Array[1, 3].Select(parts => "/" + string.Join('/', parts));

    private static readonly Gen<Op> Ops = Gen.Frequency(
        (4, Paths.Select(p => (Op)new Mkdir(p))),
        (2, Paths.Select(p => (Op)new Rmdir(p))),
        (2, Paths.Select(p => (Op)new Unlink(p))),
        (2, Gen.Select(Paths, Paths, (a, b) => (Op)new Rename(a, b))),
        (2, Paths.Select(p => (Op)new CreateNew(p))),
        (4, Gen.Select(Paths, Gen.Int[0, 70_000], Gen.Int[0, 70_000], Gen.Byte, (p, o, l, f) => (Op)new Write(p, o, l, f))),
        (2, Gen.Select(Paths, Gen.Int[0, 140_000], (p, l) => (Op)new Truncate(p, l))),
        (3, Paths.Select(p => (Op)new Read(p))),
        (2, Paths.Select(p => (Op)new Stat(p))),
        (2, Gen.OneOf(Paths, Gen.Const("/")).Select(p => (Op)new List(p))));

    [Fact]
    public async Task Fos_and_the_host_file_system_agree_on_every_call()
    {
        await Ops.Array[1, 40].SampleAsync(async ops =>
        {
            var fos = await RunOnFos(ops);
            var host = RunOnHost(ops);
            for (var i = 0; i < ops.Length; i++)
                if (fos[i] != host[i])
                    throw new Xunit.Sdk.XunitException($"call {i + 1}, {ops[i]}: fos said {fos[i]}, the host said {host[i]}");
        }, iter: 120, threads: 1, print: ops => string.Join("; ", ops.Select(o => o.ToString())));
    }

    private static async Task<string[]> RunOnFos(Op[] ops)
    {
        await using var system = new SimulatedSystem(new SimOptions { Seed = 3, CoresPerMachine = 4 });
        await SystemBoot.StartNaming(system);
        await SystemBoot.StartFileSystem(system, system.Cores.Skip(1).ToList());
        return await system.Execute(system.Cores[0], async _ =>
        {
            var results = new string[ops.Length];
            for (var i = 0; i < ops.Length; i++)
            {
                try
                {
                    results[i] = await Apply(ops[i]);
                }
                catch (FosIOException ex)
                {
                    results[i] = ex.Errno.ToString();
                }
            }
            return results;
        });
    }

    private static async Task<string> Apply(Op op)
    {
        switch (op)
        {
            case Mkdir m:
                await FosPosix.Mkdir(m.Path);
                return "ok";
            case Rmdir r:
                await FosPosix.Rmdir(r.Path);
                return "ok";
            case Unlink u:
                await FosPosix.Unlink(u.Path);
                return "ok";
            case Rename r:
                await FosPosix.Rename(r.From, r.To);
                return "ok";
            case CreateNew c:
                await FosPosix.Close(await FosPosix.Open(c.Path, new FsOpenFlags(Create: true, Exclusive: true, Write: true)));
                return "ok";
            case Write w:
            {
                var file = await FosPosix.Open(w.Path, new FsOpenFlags(Create: true, Write: true));
                await FosPosix.PWrite(file, w.Offset, Fill(w.Length, w.Fill));
                await FosPosix.Close(file);
                return "ok";
            }
            case Truncate t:
            {
                var file = await FosPosix.Open(t.Path, new FsOpenFlags(Write: true));
                await FosPosix.FTruncate(file, t.Length);
                await FosPosix.Close(file);
                return "ok";
            }
            case Read r:
            {
                var file = await FosPosix.Open(r.Path, new FsOpenFlags());
                var all = new MemoryStream();
                for (byte[] chunk; (chunk = await FosPosix.PRead(file, all.Length, 50_000)).Length > 0;) all.Write(chunk);
                await FosPosix.Close(file);
                return Digest(all.ToArray());
            }
            case Stat s:
            {
                var attributes = await FosPosix.Stat(s.Path);
                return attributes.Kind == FsNodeKind.Directory ? "dir" : $"file {attributes.Size}";
            }
            case List l:
                return string.Join(",", (await FosPosix.ReadDir(l.Path)).Select(e => e.Name));
            default:
                throw new ArgumentOutOfRangeException(nameof(op));
        }
    }

    private static string[] RunOnHost(Op[] ops)
    {
        var root = Path.Combine(Path.GetTempPath(), "fos-diff-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            return [.. ops.Select(op => Host.Apply(root, op))];
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static byte[] Fill(int length, byte fill) => Enumerable.Repeat(fill, length).ToArray();

    private static string Digest(byte[] data) =>
        $"{data.Length} bytes {Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(data))[..16]}";

    /// <summary>The same calls on the host, through libc, so the errors are the kernel's own.</summary>
    private static partial class Host
    {
        public static string Apply(string root, Op op)
        {
            string P(string path) => root + path;
            try
            {
                switch (op)
                {
                    case Mkdir m: Check(mkdir(P(m.Path), 0x1ED)); return "ok";
                    case Rmdir r: Check(rmdir(P(r.Path))); return "ok";
                    case Unlink u: Check(unlink(P(u.Path))); return "ok";
                    case Rename r: Check(rename(P(r.From), P(r.To))); return "ok";
                    case CreateNew c: Check(close(Check(open(P(c.Path), O_WRONLY | O_CREAT | O_EXCL, 0x1A4)))); return "ok";
                    case Write w:
                    {
                        var fd = Check(open(P(w.Path), O_WRONLY | O_CREAT, 0x1A4));
                        var data = Fill(w.Length, w.Fill);
                        Check((int)pwrite(fd, data, (nint)data.Length, w.Offset));
                        Check(close(fd));
                        return "ok";
                    }
                    case Truncate t:
                    {
                        var fd = Check(open(P(t.Path), O_WRONLY, 0));
                        Check(ftruncate(fd, t.Length));
                        Check(close(fd));
                        return "ok";
                    }
                    case Read r:
                    {
                        var fd = Check(open(P(r.Path), O_RDONLY, 0));
                        Check(close(fd));
                        if (Directory.Exists(P(r.Path))) return "EISDIR"; // read(2) on a directory
                        return Digest(File.ReadAllBytes(P(r.Path)));
                    }
                    case Stat s:
                        Check(access(P(s.Path), 0));
                        return Directory.Exists(P(s.Path)) ? "dir" : $"file {new FileInfo(P(s.Path)).Length}";
                    case List l:
                        Check(access(P(l.Path), 0));
                        if (!Directory.Exists(P(l.Path))) return "ENOTDIR";
                        return string.Join(",", Directory.GetFileSystemEntries(P(l.Path)).Select(Path.GetFileName).Order(StringComparer.Ordinal));
                    default:
                        throw new ArgumentOutOfRangeException(nameof(op));
                }
            }
            catch (ErrnoException ex)
            {
                return ex.Name;
            }
        }

        private const int O_RDONLY = 0, O_WRONLY = 1, O_CREAT = 0x40, O_EXCL = 0x80;

        private sealed class ErrnoException(string name) : Exception(name)
        {
            public string Name { get; } = name;
        }

        private static int Check(int result)
        {
            if (result >= 0) return result;
            var errno = Marshal.GetLastPInvokeError();
            throw new ErrnoException(errno switch
            {
                2 => "ENOENT",
                9 => "EBADF",
                16 => "EBUSY",
                17 => "EEXIST",
                20 => "ENOTDIR",
                21 => "EISDIR",
                22 => "EINVAL",
                28 => "ENOSPC",
                36 => "ENAMETOOLONG",
                39 => "ENOTEMPTY",
                _ => $"errno {errno}",
            });
        }

        [DllImport("libc", SetLastError = true)] private static extern int mkdir(string path, int mode);
        [DllImport("libc", SetLastError = true)] private static extern int rmdir(string path);
        [DllImport("libc", SetLastError = true)] private static extern int unlink(string path);
        [DllImport("libc", SetLastError = true)] private static extern int rename(string from, string to);
        [DllImport("libc", SetLastError = true)] private static extern int open(string path, int flags, int mode);
        [DllImport("libc", SetLastError = true)] private static extern int close(int fd);
        [DllImport("libc", SetLastError = true)] private static extern nint pwrite(int fd, byte[] buffer, nint count, long offset);
        [DllImport("libc", SetLastError = true)] private static extern int ftruncate(int fd, long length);
        [DllImport("libc", SetLastError = true)] private static extern int access(string path, int mode);
    }
}
