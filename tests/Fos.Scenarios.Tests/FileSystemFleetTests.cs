using System.Text;
using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Protocols.FileSystem;
using Fos.Services;
using Fos.Services.FileSystem;

namespace Fos.Scenarios.Tests;

/// <summary>The file-system fleet spoken to in its own protocol, on both runtimes, with members on three cores.</summary>
public sealed class FileSystemFleetTests : IDisposable
{
    private readonly string data = Path.Combine(Path.GetTempPath(), "fos-fs-" + Guid.NewGuid().ToString("N"));

    private async Task<(IFosRuntime System, CoreId Client)> Boot(string kind)
    {
        var system = await Runtimes.Boot(kind, cores: 4, dataDirectory: data);
        await SystemBoot.StartFileSystem(system, system.Cores.Skip(1).ToList());
        return (system, system.Cores[0]);
    }

    private static Task<T> Fs<T>(IFosRuntime system, CoreId client, object request) =>
        system.Execute(client, k => k.Call<T>(WellKnownNames.FileSystem, request), Runtimes.Deadline);

    private static async Task<Errno?> Fails(IFosRuntime system, CoreId client, object request)
    {
        try
        {
            await system.Execute(client, k => k.Call<object>(WellKnownNames.FileSystem, request), Runtimes.Deadline);
            return null;
        }
        catch (FosException ex)
        {
            return FsError.ErrnoOf(ex);
        }
    }

    [Theory]
    [MemberData(nameof(Runtimes.Both), MemberType = typeof(Runtimes))]
    public async Task Files_and_directories_spread_over_members_behave_as_one_tree(string kind)
    {
        var (system, client) = await Boot(kind);
        await using var _ = system;

        // Enough directories that they land in shards of every member.
        for (var d = 0; d < 12; d++) await Fs<FsAttributes>(system, client, new FsMkdir($"/d{d}"));
        await Fs<FsAttributes>(system, client, new FsMkdir("/d3/sub"));
        var opened = await Fs<FsOpened>(system, client, new FsOpen("/d3/sub/hello.txt", new FsOpenFlags(Create: true, Write: true)));
        var text = Encoding.UTF8.GetBytes("hello, fleet");
        Assert.Equal(text.Length, await system.Execute(client, k => k.Call<long>(opened.Server, new FsWrite(opened.Handle, 0, text)).AsTask(), Runtimes.Deadline));
        await system.Execute(client, k => k.Call(opened.Server, new FsClose(opened.Handle)).AsTask(), Runtimes.Deadline);

        var stat = await Fs<FsAttributes>(system, client, new FsStat("/d3/sub/hello.txt"));
        Assert.Equal((FsNodeKind.File, text.Length), (stat.Kind, stat.Size));
        var root = (await Fs<FsDirPage>(system, client, new FsReadDir("/"))).Entries;
        Assert.Equal(Enumerable.Range(0, 12).Select(d => $"d{d}").Order(StringComparer.Ordinal), root.Select(e => e.Name));
        Assert.True(root.Select(e => FsStore.ShardOf(e.Inode) % 3).Distinct().Count() > 1, "directories spread over more than one member");

        await Fs<Ack>(system, client, new FsRename("/d3/sub/hello.txt", "/d7/moved.txt"));
        Assert.Equal(Errno.ENOENT, await Fails(system, client, new FsStat("/d3/sub/hello.txt")));
        var reopened = await Fs<FsOpened>(system, client, new FsOpen("/d7/moved.txt", new FsOpenFlags()));
        var back = await system.Execute(client, k => k.Call<byte[]>(reopened.Server, new FsRead(reopened.Handle, 0, 100)).AsTask(), Runtimes.Deadline);
        Assert.Equal("hello, fleet", Encoding.UTF8.GetString(back));

        Assert.Equal(Errno.ENOTEMPTY, await Fails(system, client, new FsRmdir("/d7")));
        await Fs<Ack>(system, client, new FsUnlink("/d7/moved.txt"));
        // Unlinked while open: the handle still reads it, and a close lets it go.
        back = await system.Execute(client, k => k.Call<byte[]>(reopened.Server, new FsRead(reopened.Handle, 7, 100)).AsTask(), Runtimes.Deadline);
        Assert.Equal("fleet", Encoding.UTF8.GetString(back));
        await system.Execute(client, k => k.Call(reopened.Server, new FsClose(reopened.Handle)).AsTask(), Runtimes.Deadline);
        await Fs<Ack>(system, client, new FsRmdir("/d7"));
        Assert.Equal(Errno.EBADF, await Fails(system, client, new FsRead(reopened.Handle, 0, 1)));
    }

    [Theory]
    [MemberData(nameof(Runtimes.Both), MemberType = typeof(Runtimes))]
    public async Task Each_wrong_request_gets_its_posix_error_and_changes_nothing(string kind)
    {
        var (system, client) = await Boot(kind);
        await using var _ = system;
        await Fs<FsAttributes>(system, client, new FsMkdir("/dir"));
        var file = await Fs<FsOpened>(system, client, new FsOpen("/dir/file", new FsOpenFlags(Create: true, Write: true)));
        await system.Execute(client, k => k.Call(file.Server, new FsClose(file.Handle)).AsTask(), Runtimes.Deadline);

        Assert.Equal(Errno.ENOENT, await Fails(system, client, new FsStat("/nope")));
        Assert.Equal(Errno.ENOENT, await Fails(system, client, new FsStat("/nope/deeper")));
        Assert.Equal(Errno.ENOTDIR, await Fails(system, client, new FsStat("/dir/file/x")));
        Assert.Equal(Errno.EEXIST, await Fails(system, client, new FsMkdir("/dir")));
        Assert.Equal(Errno.EEXIST, await Fails(system, client, new FsOpen("/dir/file", new FsOpenFlags(Create: true, Exclusive: true))));
        Assert.Equal(Errno.EISDIR, await Fails(system, client, new FsOpen("/dir", new FsOpenFlags())));
        Assert.Equal(Errno.EISDIR, await Fails(system, client, new FsUnlink("/dir")));
        Assert.Equal(Errno.ENOTDIR, await Fails(system, client, new FsRmdir("/dir/file")));
        Assert.Equal(Errno.ENOTDIR, await Fails(system, client, new FsReadDir("/dir/file")));
        Assert.Equal(Errno.ENOTEMPTY, await Fails(system, client, new FsRmdir("/dir")));
        Assert.Equal(Errno.EINVAL, await Fails(system, client, new FsStat("relative/path")));
        Assert.Equal(Errno.EINVAL, await Fails(system, client, new FsStat("/dir/../dir")));
        Assert.Equal(Errno.EINVAL, await Fails(system, client, new FsRename("/dir", "/dir/inside")));
        Assert.Equal(Errno.EBUSY, await Fails(system, client, new FsRmdir("/")));
        Assert.Equal(Errno.ENAMETOOLONG, await Fails(system, client, new FsMkdir("/" + new string('x', 300))));
        Assert.Equal(Errno.EBADF, await Fails(system, client, new FsWrite(file.Handle, 0, [1])));

        var readOnly = await Fs<FsOpened>(system, client, new FsOpen("/dir/file", new FsOpenFlags()));
        Assert.Equal(Errno.EBADF, await Fails(system, client, new FsWrite(readOnly.Handle, 0, [1])));
        Assert.Equal(Errno.EINVAL, await Fails(system, client, new FsRead(readOnly.Handle, -1, 1)));

        var listing = (await Fs<FsDirPage>(system, client, new FsReadDir("/dir"))).Entries;
        Assert.Equal(["file"], listing.Select(e => e.Name));
        Assert.Equal(0, (await Fs<FsAttributes>(system, client, new FsStat("/dir/file"))).Size);
    }

    public void Dispose()
    {
        if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
    }
}
