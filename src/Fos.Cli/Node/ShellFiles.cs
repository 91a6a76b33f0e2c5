using Fos.Protocols.FileSystem;
using Fos.Sys;

namespace Fos.Cli.Node;

/// <summary>
/// The file commands, as coreutils behave: each operand is done or told as one line of error,
/// and the command goes on to the next; any failure makes the status 1.
/// </summary>
internal sealed partial class Shell
{
    // Files travel in pieces of this size: a big file is never whole in memory.
    private const int Chunk = 16 * FsLimits.BlockSize;

    /// <summary>
    /// Copies a stream in chunks. Each step goes on from the host's thread pool, never from the fos
    /// core that answered a read or write, so host I/O (a terminal, a socket, a disk) never stalls
    /// a core's loop.
    /// </summary>
    private static async Task<long> Copy(Stream from, Stream to)
    {
        var buffer = new byte[Chunk];
        var total = 0L;
        while (await from.ReadAsync(buffer).AsTask().ConfigureAwait(ConfigureAwaitOptions.ForceYielding) is var read and > 0)
        {
            await to.WriteAsync(buffer.AsMemory(0, read)).AsTask().ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
            total += read;
        }
        return total;
    }

    /// <summary>Does <paramref name="work"/> for each operand; a failure is told with <paramref name="action"/> and the operand.</summary>
    private static async Task<int> Each(Call call, IEnumerable<string> operands, string? action, Func<ShellPath, Task> work)
    {
        var status = 0;
        foreach (var given in operands)
        {
            try
            {
                await work(ShellPath.Parse(given));
            }
            catch (ShellFailure ex)
            {
                status = await call.Fail(ex.Message);
            }
            catch (Exception ex) when (ShellErrors.Reason(ex) is { } reason)
            {
                status = await call.Fail(ShellErrors.Line(action, given, reason));
            }
        }
        return status;
    }

    /// <summary>stat; a path written with a trailing '/' must be a directory.</summary>
    private async Task<FsAttributes> StatOf(ShellPath path)
    {
        var attributes = await OnFos(() => FosPosix.Stat(path.Path).AsTask());
        if (path.MustBeDirectory && attributes.Kind != FsNodeKind.Directory) throw ShellErrors.Posix(Errno.ENOTDIR, path.Given);
        return attributes;
    }

    private async Task<FsAttributes?> StatOrNull(ShellPath path)
    {
        try
        {
            return await StatOf(path);
        }
        catch (FosIOException ex) when (ex.Errno == Errno.ENOENT)
        {
            return null;
        }
    }

    /// <summary>Opens a fos file to read; a directory, or a file written as one, is refused as Linux refuses it.</summary>
    private async Task<FosFileStream> OpenRead(ShellPath path)
    {
        if (path.MustBeDirectory && (await StatOf(path)).Kind == FsNodeKind.Directory) throw ShellErrors.Posix(Errno.EISDIR, path.Given);
        return await OnFos(() => FosFile.OpenReadAsync(path.Path));
    }

    private async Task<int> List(Call call, Arguments args)
    {
        string[] operands = args.Operands.Count > 0 ? [.. args.Operands] : ["/"];
        var directories = new List<ShellPath>();
        var status = await Each(call, operands, "cannot access", async path =>
        {
            if ((await StatOf(path)).Kind == FsNodeKind.Directory) directories.Add(path);
            else await call.Out.WriteLineAsync(path.Given);
        });
        var first = directories.Count == operands.Length; // no files listed before
        foreach (var directory in directories)
        {
            var one = await Each(call, [directory.Given], "cannot open directory", async path =>
            {
                // A page at a time, as it comes: a directory of millions of entries never sits in memory whole.
                string? after = null;
                while (true)
                {
                    var page = await OnFos(() => FosPosix.ReadDirPage(path.Path, after).AsTask());
                    if (after is null && operands.Length > 1) await call.Out.WriteLineAsync((first ? "" : "\n") + path.Given + ":");
                    foreach (var e in page.Entries) await call.Out.WriteLineAsync(e.Kind == FsNodeKind.Directory ? e.Name + "/" : e.Name);
                    if (!page.More || page.Entries.Length == 0) break;
                    after = page.Entries[^1].Name;
                }
                first = false;
            });
            status = Math.Max(status, one);
        }
        return status;
    }

    private Task<int> Cat(Call call, string[] operands) => Each(call, operands, null, async path =>
    {
        var file = await OpenRead(path);
        await using (file) await Copy(file, await call.Bytes());
    });

    private async Task<int> Put(Call call, string[] operands)
    {
        var (hostGiven, target) = (operands[0], ShellPath.Parse(operands[1]));
        var host = Path.GetFullPath(hostGiven, call.HostDirectory);
        if (Directory.Exists(host)) throw new ShellFailure(ShellErrors.Line(null, hostGiven, ShellErrors.Strerror(Errno.EISDIR)));
        await using var source = await ShellErrors.Doing(null, hostGiven, () => Task.FromResult(File.OpenRead(host)));
        const string writing = "cannot write";
        if (target.MustBeDirectory)
        {
            var existing = await ShellErrors.Doing(writing, target.Given, () => StatOrNull(target));
            throw new ShellFailure(ShellErrors.Line(writing, target.Given, ShellErrors.Strerror(existing is { Kind: FsNodeKind.Directory } ? Errno.EISDIR : Errno.ENOTDIR)));
        }
        // Written under a name of its own in the same directory and renamed at the end: the target
        // is the whole new file or what it was before, never a part.
        var temporary = FosDirectory.Combine(target.Parent, $".put-{Guid.NewGuid():N}");
        var file = await ShellErrors.Doing(writing, target.Given, () => OnFos(() => FosFile.OpenAsync(temporary, FileMode.CreateNew, FileAccess.Write)));
        long bytes;
        try
        {
            bytes = await Copy(source, file);
            await file.DisposeAsync(); // close: sends the rest and makes it durable
            await OnFos(() => FosPosix.Rename(temporary, target.Path).AsTask());
        }
        catch (Exception ex)
        {
            await Forget(file, temporary);
            if (ShellErrors.Reason(ex) is not { } reason) throw;
            throw new ShellFailure(ex is FosIOException ? ShellErrors.Line(writing, target.Given, reason) : ShellErrors.Line(null, hostGiven, reason));
        }
        await call.Out.WriteLineAsync($"{bytes} bytes to {target.Given}");
        return 0;
    }

    /// <summary>Closes and removes a file this shell made and could not finish.</summary>
    private async Task Forget(FosFileStream file, string path)
    {
        try
        {
            await file.DisposeAsync();
        }
        catch (IOException)
        {
            // What was buffered could not be written either; the handle is closed all the same.
        }
        try
        {
            await OnFos(() => FosPosix.Unlink(path).AsTask());
        }
        catch (IOException)
        {
            // Nothing more to do here: the name starts with '.', out of the way.
        }
    }

    private async Task<int> Get(Call call, string[] operands)
    {
        var (source, hostGiven) = (ShellPath.Parse(operands[0]), operands[1]);
        var host = Path.GetFullPath(hostGiven, call.HostDirectory);
        var file = await ShellErrors.Doing(null, source.Given, () => OpenRead(source));
        await using (file)
        {
            const string writing = "cannot write";
            if (Directory.Exists(host) || hostGiven.EndsWith('/'))
                throw new ShellFailure(ShellErrors.Line(writing, hostGiven, ShellErrors.Strerror(Errno.EISDIR)));
            if (HostStat.IsLink(host) && File.ResolveLinkTarget(host, returnFinalTarget: true) is { } target)
                host = target.FullName; // written through the link, as cp does: the link stays a link
            if (HostStat.IsSpecial(host)) return await GetInto(call, file, source, hostGiven, host);
            // Written beside the target and renamed at the end, as put does: the host file is
            // the whole new file or what it was before.
            var temporary = Path.Combine(Path.GetDirectoryName(host)!, $".get-{Guid.NewGuid():N}");
            var output = await ShellErrors.Doing(writing, hostGiven, () => Task.FromResult(new FileStream(temporary, FileMode.CreateNew, FileAccess.Write)));
            long bytes;
            try
            {
                await using (output) bytes = await Copy(file, output);
                File.Move(temporary, host, overwrite: true);
            }
            catch (Exception ex)
            {
                File.Delete(temporary);
                if (ShellErrors.Reason(ex) is not { } reason) throw;
                throw new ShellFailure(ex is FosIOException ? ShellErrors.Line(null, source.Given, reason) : ShellErrors.Line(writing, hostGiven, reason));
            }
            await call.Out.WriteLineAsync($"{bytes} bytes to {host}");
        }
        return 0;
    }

    /// <summary>get into a device, pipe or socket: written straight into it, as cp does, never replaced by a file.</summary>
    private static async Task<int> GetInto(Call call, FosFileStream file, ShellPath source, string hostGiven, string host)
    {
        const string writing = "cannot write";
        try
        {
            long bytes;
            await using (var output = new FileStream(host, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0))
                bytes = await Copy(file, output);
            await call.Out.WriteLineAsync($"{bytes} bytes to {host}");
            return 0;
        }
        catch (Exception ex) when (ShellErrors.Reason(ex) is { } reason)
        {
            throw new ShellFailure(ex is FosIOException ? ShellErrors.Line(null, source.Given, reason) : ShellErrors.Line(writing, hostGiven, reason));
        }
    }

    private Task<int> MakeDirectories(Call call, Arguments args)
    {
        var parents = args.Has("p");
        return Each(call, Operands(args, 1, int.MaxValue), "cannot create directory", path =>
            parents ? OnFos(() => FosDirectory.CreateDirectoryAsync(path.Path)) : OnFos(() => FosPosix.Mkdir(path.Path).AsTask()));
    }

    private Task<int> Remove(Call call, Arguments args)
    {
        var (recursive, force) = (args.Has("r") || args.Has("R"), args.Has("f"));
        var preserveRoot = args.Has("preserve-root") || !args.Has("no-preserve-root"); // when in doubt, keep the root
        string[] operands = force ? [.. args.Operands] : Operands(args, 1, int.MaxValue);
        return Each(call, operands, "cannot remove", async path =>
        {
            if (recursive && preserveRoot && path.IsRoot)
                throw new ShellFailure("it is dangerous to operate recursively on '/' (use --no-preserve-root to override this failsafe)");
            if (path.EndsInDots) throw new ShellFailure($"refusing to remove '.' or '..' directory: skipping '{path.Given}'");
            var attributes = force ? await StatOrNull(path) : await StatOf(path);
            if (attributes is null) return;
            if (attributes.Kind != FsNodeKind.Directory) await OnFos(() => FosPosix.Unlink(path.Path).AsTask());
            else if (!recursive) throw ShellErrors.Posix(Errno.EISDIR, path.Given);
            else if (!path.IsRoot) await OnFos(() => FosDirectory.DeleteAsync(path.Path, recursive: true));
            else
            {
                // The root itself stays (it cannot go): everything in it goes.
                foreach (var entry in await OnFos(() => FosDirectory.EntriesAsync("/")))
                {
                    var child = "/" + entry.Name;
                    await OnFos(() => entry.Kind == FsNodeKind.Directory ? FosDirectory.DeleteAsync(child, recursive: true) : FosPosix.Unlink(child).AsTask());
                }
            }
        });
    }

    // As on Linux, a path that ends in '.' or '..' names no entry that rmdir could remove.
    private Task<int> RemoveDirectories(Call call, string[] operands) =>
        Each(call, operands, "failed to remove", path => path.EndsInDots
            ? throw ShellErrors.Posix(path.Given.EndsWith("..", StringComparison.Ordinal) ? Errno.ENOTEMPTY : Errno.EINVAL, path.Given)
            : OnFos(() => FosPosix.Rmdir(path.Path).AsTask()));

    private async Task<int> Move(Call call, string[] operands)
    {
        var target = ShellPath.Parse(operands[^1]);
        var existing = await ShellErrors.Doing("cannot stat", target.Given, () => StatOrNull(target));
        var into = existing is { Kind: FsNodeKind.Directory };
        if (operands.Length > 2 && !into) throw new ShellFailure($"target '{target.Given}' is not a directory");
        return await Each(call, operands[..^1], "cannot stat", async source =>
        {
            var moving = await StatOf(source);
            var to = into ? FosDirectory.Combine(target.Path, source.Name) : target.Path;
            if (to == source.Path) throw new ShellFailure($"'{source.Given}' and '{to}' are the same file");
            if (into && await StatOrNull(ShellPath.Parse(to)) is { } there && (there.Kind == FsNodeKind.Directory) != (moving.Kind == FsNodeKind.Directory))
            {
                throw new ShellFailure(there.Kind == FsNodeKind.Directory
                    ? $"cannot overwrite directory '{to}' with non-directory"
                    : $"cannot overwrite non-directory '{to}' with directory '{source.Given}'");
            }
            await ShellErrors.Doing($"cannot move '{source.Given}' to", target.Given, async () =>
            {
                if (!into && target.MustBeDirectory && moving.Kind != FsNodeKind.Directory) throw ShellErrors.Posix(Errno.ENOTDIR, target.Given);
                await OnFos(() => FosPosix.Rename(source.Path, to).AsTask());
            });
        });
    }

    private Task<int> Stat(Call call, string[] operands) => Each(call, operands, "cannot stat", async path =>
    {
        var a = await StatOf(path);
        var prefix = operands.Length > 1 ? path.Given + ": " : "";
        await call.Out.WriteLineAsync($"{prefix}{(a.Kind == FsNodeKind.Directory ? "directory" : "file")}  size {a.Size}  inode {a.Inode}  version {a.Version}");
    });
}
