using System.Diagnostics;
using Xunit.Abstractions;

namespace Fos.Integration.Tests;

/// <summary>
/// A power failure under a real node, on each storage engine: the node's stores live on LazyFS, a
/// FUSE file system that keeps written data in its own cache until it is fsynced and drops every
/// unsynced byte on command. The node writes, some of it synced by the file system's contract and
/// some not, is killed with SIGKILL, LazyFS drops what was never synced, and the node boots again
/// on what is left: everything the contract calls durable must be there byte for byte, each
/// operation that was not must be all there or all gone, nothing may hold bytes that nobody wrote,
/// and fsck must find the file system whole.
/// Runs only where <c>FOS_LAZYFS</c> names a LazyFS control script (verbs build, mount, crash,
/// umount) and /dev/fuse exists; elsewhere it is reported as skipped, with what is missing.
/// </summary>
public sealed class PowerLossTests(ITestOutputHelper output)
{
    // Tags of the writes (see samples/fsops): each tag's bytes are its own, so a byte read back
    // tells which write put it there.
    private const long Put = 9;

    private static readonly Write S1 = new(0, 65_536, 1), S2 = new(65_536, 36_864, 2); // synced.bin, fsynced
    private static readonly Write S3 = new(102_400, 51_200, 3), S4 = new(10_240, 10_240, 4); // synced.bin, never synced
    private static readonly Write C1 = new(0, 40_000, 5); // closed.bin, closed
    private static readonly Write U1 = new(0, 30_000, 6); // unsynced.bin, never synced
    private static readonly Write P1 = new(0, 70_000, Put); // put by the shell, which closes it

    /// <summary>Directories made after the last fsync: each must survive, as every mkdir is durable when it returns.</summary>
    private static readonly string[] Made = [.. Enumerable.Range(0, 8).Select(i => $"/pl/m{i}")];

    /// <summary>What the node is asked to do: the durable part first, then what is left unsynced.</summary>
    private static readonly string[] Steps =
    [
        "mkdir /pl/c/d",
        "create s /pl/a/synced.bin",
        WriteStep("s", S1), WriteStep("s", S2),
        "fsync s", // synced.bin's entry, data and size are durable
        "create c /pl/c/closed.bin",
        WriteStep("c", C1),
        "close c", // closed.bin is durable
        "rename /pl/a/put.bin /pl/c/moved.bin",
        // fsync of each directory makes its entries durable: the mkdirs, the creates, the rename.
        "opendir root /", "fsync root", "opendir pl /pl", "fsync pl",
        "opendir a /pl/a", "fsync a", "opendir c /pl/c", "fsync c",
        // From here on nothing is fsynced: the metadata operations are durable when they return,
        // and each write may be lost, but only whole.
        "rename /pl/c/closed.bin /pl/a/closed.bin",
        .. Made.Select(d => "mkdir " + d),
        WriteStep("s", S3), WriteStep("s", S4),
        "create u /pl/c/d/unsynced.bin",
        WriteStep("u", U1),
    ];

    [PowerLossTheory]
    [InlineData("rocksdb")]
    [InlineData("sqlite")]
    public async Task What_was_synced_survives_a_power_loss_and_nothing_else_appears(string engine)
    {
        var scratch = Path.Combine(Path.GetTempPath(), "fos-power-" + Guid.NewGuid().ToString("N")[..8]);
        var mount = Path.Combine(scratch, "mnt");
        var data = Path.Combine(mount, "data");
        Directory.CreateDirectory(scratch);
        FosCommand? node = null;
        await using var lazyfs = await LazyFs.Mount(mount, Path.Combine(scratch, "root"));
        try
        {
            node = await Boot(engine, data);
            var putFile = Path.Combine(scratch, "put.bin");
            await File.WriteAllBytesAsync(putFile, Apply(P1));
            await Shell(data, $"mkdir -p /pl/a /pl/c; put {putFile} /pl/a/put.bin");
            var run = await FosCommand.Run(["run", "--data", data, Sample("fsops"), .. Steps]);
            Assert.True(run.ExitCode == 0, $"fsops failed ({run.ExitCode}):\n{string.Join('\n', run.Stdout)}\n{run.Stderr}");
            Assert.Equal(Steps.Select(s => "ok " + s), run.Stdout);

            node.Signal(9); // the power goes: the node gets no chance to do anything more
            Assert.Equal(137, await node.WaitForExit(FosCommand.Deadline));
            await node.DisposeAsync();
            node = null;
            await lazyfs.Crash(); // and what was never synced is gone

            node = await Boot(engine, data);
            await CheckWhatSurvived(data);
            var stop = await FosCommand.Run("stop", "--data", data);
            Assert.True(stop.ExitCode == 0, stop.Stderr);
            Assert.Equal(0, await node.WaitForExit(FosCommand.Deadline));
            var check = await FosCommand.Run("fsck", "--data", data);
            Assert.True(check.ExitCode == 0, $"fsck ({check.ExitCode}):\n{string.Join('\n', check.Stdout)}\n{check.Stderr}");
            output.WriteLine($"fsck: {string.Join(" / ", check.Stdout)}");
        }
        finally
        {
            if (node is not null) await node.DisposeAsync(); // no open file may keep the mount busy
        }
    }

    private async Task CheckWhatSurvived(string data)
    {
        // Metadata operations are durable when they return: every mkdir, create and rename is
        // there, synced or not, and nothing else is.
        Assert.Equal(["a/", "c/", .. Made.Select(Entry)], (await List(data, "/pl")).Order(StringComparer.Ordinal));
        Assert.Equal(["closed.bin", "synced.bin"], (await List(data, "/pl/a")).Order(StringComparer.Ordinal));
        Assert.Equal(["d/", "moved.bin"], (await List(data, "/pl/c")).Order(StringComparer.Ordinal));
        Assert.Equal(["unsynced.bin"], await List(data, "/pl/c/d"));

        // Data: durable when fsynced or closed; what was never synced may be lost, but only whole.
        var synced = await Read(data, "/pl/a/synced.bin");
        Assert.NotNull(synced);
        var which = OneOf(synced, "/pl/a/synced.bin", [S1, S2], [S3, S4]);
        output.WriteLine($"synced.bin: the unsynced writes that survived: {Describe(which)}");
        Assert.Equal(Apply(P1), await Read(data, "/pl/c/moved.bin"));
        Assert.Equal(Apply(C1), await Read(data, "/pl/a/closed.bin"));
        var unsynced = await Read(data, "/pl/c/d/unsynced.bin");
        Assert.NotNull(unsynced);
        OneOf(unsynced, "/pl/c/d/unsynced.bin", [], [U1]);
        output.WriteLine($"unsynced.bin: {unsynced.Length} bytes");
    }

    /// <summary>How ls shows a directory of /pl: its name and a slash.</summary>
    private static string Entry(string directory) => directory[(directory.LastIndexOf('/') + 1)..] + "/";

    /// <summary>
    /// Which of the unsynced writes a file's bytes hold, on top of all the durable ones; fails
    /// unless the bytes are exactly those of the durable writes and some of the others, each whole.
    /// </summary>
    private static Write[] OneOf(byte[] actual, string path, Write[] durable, Write[] maybe)
    {
        for (var mask = 0; mask < 1 << maybe.Length; mask++)
        {
            Write[] survived = [.. maybe.Where((_, i) => (mask & (1 << i)) != 0)];
            if (actual.AsSpan().SequenceEqual(Apply([.. durable, .. survived]))) return survived;
        }
        var firstWrong = Apply(durable).AsSpan().CommonPrefixLength(actual);
        Assert.Fail($"{path} ({actual.Length} bytes) is not its durable writes ({Describe(durable)}) plus some of its unsynced ones ({Describe(maybe)}), each whole; " +
                    $"it first differs from the durable bytes at offset {firstWrong}");
        return [];
    }

    /// <summary>A file's bytes after these writes, in order, on an empty file.</summary>
    private static byte[] Apply(params Write[] writes)
    {
        var bytes = new byte[writes.Select(w => w.Offset + w.Length).DefaultIfEmpty(0).Max()];
        foreach (var w in writes)
            for (var i = w.Offset; i < w.Offset + w.Length; i++) bytes[i] = Pattern(w.Tag, i);
        return bytes;
    }

    private static string Describe(Write[] writes) => writes.Length == 0 ? "none" : string.Join(", ", writes.Select(w => $"{w.Length} bytes at {w.Offset}"));

    /// <summary>The byte samples/fsops writes at a file offset for a tag (splitmix64 of both).</summary>
    private static byte Pattern(long tag, long offset)
    {
        var z = unchecked((ulong)tag * 0x9E3779B97F4A7C15UL + (ulong)offset);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return (byte)(z ^ (z >> 31));
    }

    private static string WriteStep(string handle, Write w) => $"write {handle} {w.Offset} {w.Length} {w.Tag}";

    private sealed record Write(int Offset, int Length, long Tag);

    private static async Task<FosCommand> Boot(string engine, string data)
    {
        var node = FosCommand.Start("boot", "--headless", "--cores", "4", "--engine", engine, "--data", data);
        try
        {
            await node.WaitForLine("fos is up", FosCommand.Deadline);
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
        return node;
    }

    private static async Task Shell(string data, string commands)
    {
        var (code, stdout, stderr) = await FosCommand.Run("shell", "--data", data, "-c", commands);
        Assert.True(code == 0, $"fos shell -c \"{commands}\" failed ({code}):\n{string.Join('\n', stdout)}\n{stderr}");
    }

    private static async Task<IReadOnlyList<string>> List(string data, string path)
    {
        var (code, stdout, stderr) = await FosCommand.Run("shell", "--data", data, "-c", $"ls {path}");
        Assert.True(code == 0, $"ls {path} failed ({code}): {stderr}");
        return stdout;
    }

    /// <summary>A fos file's bytes, or null when there is no such file.</summary>
    private static async Task<byte[]?> Read(string data, string path)
    {
        var (code, stdout, stderr) = await FosCommand.RunBytes("shell", "--data", data, "-c", $"cat {path}");
        if (code != 0 && stderr.Contains("No such file or directory", StringComparison.Ordinal)) return null;
        Assert.True(code == 0, $"cat {path} failed ({code}): {stderr}");
        return stdout;
    }

    private static string Sample(string name)
    {
        // tests/Fos.Integration.Tests/bin/CONFIG/net10.0/ → samples/NAME/bin/CONFIG/net10.0/NAME.dll
        var bin = new DirectoryInfo(AppContext.BaseDirectory);
        var root = bin.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        return Path.Combine(root, "samples", name, "bin", bin.Parent!.Name, bin.Name, name + ".dll");
    }
}

/// <summary>A theory that runs only where LazyFS can: skipped, saying what is missing, elsewhere.</summary>
public sealed class PowerLossTheoryAttribute : TheoryAttribute
{
    public PowerLossTheoryAttribute()
    {
        if (LazyFs.Missing() is { } missing) Skip = missing;
    }
}

/// <summary>A LazyFS mount, driven through the control script <c>FOS_LAZYFS</c> names; unmounted on dispose, whatever happened.</summary>
internal sealed class LazyFs : IAsyncDisposable
{
    public const string Variable = "FOS_LAZYFS";

    // The first mount builds LazyFS (and installs its packages); after that a verb takes a second or two.
    private static readonly TimeSpan FirstMount = TimeSpan.FromMinutes(10), Verb = TimeSpan.FromSeconds(30);

    private readonly string script;
    private readonly string mountPoint;
    private readonly string scratch;

    private LazyFs(string script, string mountPoint, string scratch)
    {
        this.script = script;
        this.mountPoint = mountPoint;
        this.scratch = scratch;
    }

    /// <summary>Why the power-loss tests cannot run here, or null when they can.</summary>
    public static string? Missing()
    {
        var script = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(script))
            return $"{Variable} is not set: set it to a LazyFS control script (verbs build, mount, crash, umount) to run the power-loss tests";
        if (!File.Exists(script)) return $"{Variable} is {script}, which does not exist";
        if (!File.Exists("/dev/fuse")) return "/dev/fuse is missing: LazyFS needs FUSE";
        if (geteuid() != 0) return "LazyFS needs root to mount (and to install its packages)";
        return null;
    }

    /// <summary>Mounts LazyFS at <paramref name="mountPoint"/>, keeping what is synced in <paramref name="root"/>.</summary>
    public static async Task<LazyFs> Mount(string mountPoint, string root)
    {
        var script = Environment.GetEnvironmentVariable(Variable)!;
        var lazyfs = new LazyFs(script, mountPoint, Path.GetDirectoryName(mountPoint)!);
        try
        {
            var failed = await lazyfs.Control(FirstMount, "mount", mountPoint, root, mayFail: true);
            // LazyFS pre-allocates its cache before it mounts, which on a busy machine can take
            // longer than the control script waits for it: give it time of its own.
            if (failed is not null && !await lazyfs.MountsWithin(Verb)) throw new InvalidOperationException(failed);
        }
        catch
        {
            await lazyfs.DisposeAsync(); // a mount that half happened is undone too
            throw;
        }
        return lazyfs;
    }

    /// <summary>The power failure: every byte written under the mount and not synced is dropped.</summary>
    public Task Crash() => Control(Verb, "crash", mountPoint);

    private Task Control(TimeSpan deadline, string verb, string path) => Control(deadline, [verb, path], mayFail: false);

    private Task<string?> Control(TimeSpan deadline, string verb, string path, string path2, bool mayFail) => Control(deadline, [verb, path, path2], mayFail);

    /// <summary>Runs the control script; a failure throws, or with <paramref name="mayFail"/> is returned as its message.</summary>
    private async Task<string?> Control(TimeSpan deadline, string[] args, bool mayFail)
    {
        var start = new ProcessStartInfo(script) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{script} did not start");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(deadline);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{script} {string.Join(' ', args)} did not finish within {deadline.TotalSeconds:0} s");
        }
        if (process.ExitCode == 0) return null;
        var failure = $"{script} {string.Join(' ', args)} failed ({process.ExitCode}):\n{await stdout}{await stderr}";
        return mayFail ? failure : throw new InvalidOperationException(failure);
    }

    /// <summary>Waits until the mount is there, checking every 100 ms; false if it is not by the deadline.</summary>
    private async Task<bool> MountsWithin(TimeSpan deadline)
    {
        var until = Stopwatch.StartNew();
        while (!Mounted())
        {
            if (until.Elapsed > deadline) return false;
            await Task.Delay(100);
        }
        return true;
    }

    private bool Mounted() =>
        File.ReadLines("/proc/self/mounts").Any(l => l.Split(' ') is [_, var at, ..] && at == mountPoint);

    public async ValueTask DisposeAsync()
    {
        // A FUSE mount left behind breaks the machine for everyone: unmount, lazily if need be.
        try
        {
            if (Mounted()) await Control(Verb, "umount", mountPoint);
        }
        finally
        {
            if (Mounted())
            {
                using var lazy = Process.Start("umount", ["-l", mountPoint]);
                using var cancel = new CancellationTokenSource(Verb);
                await lazy.WaitForExitAsync(cancel.Token);
            }
            if (!Mounted() && Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint geteuid();
}
