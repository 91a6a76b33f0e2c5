using System.Text;
using Fos.Cli.Node;
using Fos.Runtime;

namespace Fos.Integration.Tests;

/// <summary>A fos node booted in this process, whose shell the tests drive directly and through its socket.</summary>
public sealed class ShellNode : IAsyncLifetime
{
    private readonly string data = Path.Combine(Path.GetTempPath(), "fos-shell-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly long quota;
    private NodeHost? node;

    public ShellNode() : this(long.MaxValue)
    {
    }

    internal ShellNode(long quotaPerMember) => quota = quotaPerMember;

    /// <summary>A host directory the tests put files in and get files to.</summary>
    public string Host { get; } = Path.Combine(Path.GetTempPath(), "fos-shell-host-" + Guid.NewGuid().ToString("N")[..8]);

    public string Data => data;

    internal NodeHost Node => node ?? throw new InvalidOperationException("not booted");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Host);
        node = await NodeHost.Start(new MachineOptions { Cores = 4, DataDirectory = data }, quota);
    }

    /// <summary>Runs a command line in the node's shell: its status, its output as bytes, and its error lines.</summary>
    public async Task<(int Status, byte[] Output, string[] Errors)> Bytes(string line)
    {
        var output = new MemoryStream();
        var error = new StringWriter();
        var status = await Node.Shell.Run(line, Host, output, error);
        return (status, output.ToArray(), error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>Runs a command line in the node's shell: its status, its output as text, and its error lines.</summary>
    public async Task<(int Status, string Output, string[] Errors)> Sh(string line)
    {
        var (status, output, errors) = await Bytes(line);
        return (status, Encoding.UTF8.GetString(output), errors);
    }

    /// <summary>Runs a command line that must succeed silently on stderr; returns its output.</summary>
    public async Task<string> Ok(string line)
    {
        var (status, output, errors) = await Sh(line);
        Assert.True(status == 0 && errors.Length == 0, $"{line}: status {status}: {string.Join('\n', errors)}");
        return output;
    }

    /// <summary>Runs a command line that must fail with one line on stderr starting with its command; returns the line.</summary>
    public async Task<string> Fails(string line, int status = 1)
    {
        var (got, output, errors) = await Sh(line);
        Assert.True(got == status, $"{line}: status {got}, not {status}: {string.Join('\n', errors)}");
        var error = Assert.Single(errors);
        Assert.StartsWith(line.Split(' ')[0] + ": ", error);
        Assert.Equal("", output);
        return error;
    }

    /// <summary>Asserts that <paramref name="part"/> appears in <paramref name="text"/> exactly once.</summary>
    public static void Once(string text, string part) =>
        Assert.True(text.Split(part).Length == 2, $"'{part}' should appear exactly once in: {text}");

    public async Task DisposeAsync()
    {
        if (node is not null) await node.DisposeAsync();
        if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
        if (Directory.Exists(Host)) Directory.Delete(Host, recursive: true);
    }
}

/// <summary>
/// The shell's file commands behave as a Unix user expects of coreutils and sh: errors are one
/// line with the command, the path and the errno's text; binary files come out byte for byte.
/// </summary>
public sealed class ShellTests(ShellNode shell) : IClassFixture<ShellNode>
{
    private readonly string dir = "/t" + Guid.NewGuid().ToString("N")[..8];

    private static void Once(string text, string part) => ShellNode.Once(text, part);

    private async Task<string> HostFile(string name, byte[] bytes)
    {
        var path = Path.Combine(shell.Host, name);
        await File.WriteAllBytesAsync(path, bytes);
        return path;
    }

    private static byte[] Binary(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        bytes[0] = 0xff; // never valid UTF-8
        bytes[^1] = 0xc3; // a sequence cut short, and no newline at the end
        return bytes;
    }

    [Fact]
    public async Task Run_on_a_machine_that_is_not_there_or_is_no_machine_says_so()
    {
        var app = await HostFile("app.dll", [0x4d, 0x5a]);
        Assert.Contains("--machine needs a machine", await shell.Fails("run --machine", status: 2));
        Assert.Contains("'x' is not a machine", await shell.Fails($"run --machine x {app}", status: 2));
        Assert.Contains("'m0' is not a machine", await shell.Fails($"run -m m0 {app}", status: 2));
        Assert.Contains("missing operand", await shell.Fails("run --machine m2", status: 2));
        Assert.Contains("machine m7 has no process service (not in the cluster, or down)", await shell.Fails($"run --machine=m7 {app}"));
        Assert.Contains("kill: 199: No such process", await shell.Fails($"kill {64 * 3 + 7}"));
    }

    [Fact]
    public async Task Rm_r_of_the_root_is_refused_unless_asked_with_no_preserve_root()
    {
        await shell.Ok($"mkdir {dir}");
        foreach (var root in new[] { "/", "//", "/..", $"{dir}/.." })
        {
            var error = await shell.Fails($"rm -r {root}");
            Assert.Contains("it is dangerous to operate recursively on '/'", error);
            Assert.Contains("use --no-preserve-root to override this failsafe", error);
        }
        Assert.Contains(dir[1..] + "/", await shell.Ok("ls /"));
        Assert.Contains("Is a directory", await shell.Fails("rm /"));

        await shell.Ok("rm -rf --no-preserve-root /");
        Assert.Equal("", await shell.Ok("ls /"));
        await shell.Ok($"mkdir {dir}"); // the emptied root is still a working file system
    }

    [Fact]
    public async Task Cat_writes_a_binary_file_byte_for_byte_and_concatenates_several()
    {
        var big = Binary(3 * 1024 * 1024 + 17, seed: 1);
        var small = Binary(1000, seed: 2);
        await shell.Ok($"mkdir {dir}; put {await HostFile("big.bin", big)} {dir}/big; put {await HostFile("small.bin", small)} {dir}/small");

        var (status, output, errors) = await shell.Bytes($"cat {dir}/big");
        Assert.Equal((0, 0), (status, errors.Length));
        Assert.Equal(big, output);
        (status, output, _) = await shell.Bytes($"cat {dir}/small {dir}/big {dir}/small");
        Assert.Equal(0, status);
        Assert.Equal([.. small, .. big, .. small], output);
    }

    [Fact]
    public async Task Cat_through_the_node_socket_is_byte_exact_too()
    {
        var bytes = Binary(2 * 1024 * 1024 + 3, seed: 3);
        await shell.Ok($"mkdir {dir}; put {await HostFile("sock.bin", bytes)} {dir}/f");
        using var client = await NodeProtocol.Client.Connect(shell.Data);
        var output = new MemoryStream();
        var error = new StringWriter();
        Assert.Equal(0, await client.Run($"cat {dir}/f", output, error));
        Assert.Equal(bytes, output.ToArray());
        Assert.Equal("", error.ToString());

        // Text and errors still come back in order, and the connection serves the next command.
        output.SetLength(0);
        Assert.Equal(1, await client.Run($"ls {dir}; cat {dir}/missing", output, error));
        Assert.Equal("f\n", Encoding.UTF8.GetString(output.ToArray()));
        Assert.StartsWith($"cat: {dir}/missing: ", error.ToString());
    }

    [Fact]
    public async Task Get_replaces_a_host_file_whole_and_leaves_no_temporary_behind()
    {
        var bytes = Binary(100_000, seed: 4);
        var back = await HostFile("back.bin", "an older host file"u8.ToArray());
        await shell.Ok($"mkdir {dir}; put {await HostFile("get.bin", bytes)} {dir}/f");
        Assert.Equal($"100000 bytes to {back}\n", await shell.Ok($"get {dir}/f {back}"));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(back));
        Assert.Contains("No such file or directory", await shell.Fails($"get {dir}/missing {back}"));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(back));
        Assert.Empty(Directory.GetFiles(shell.Host, ".get-*"));
        Assert.Equal("f\n", await shell.Ok($"ls {dir}")); // nor in fos
    }

    /// <summary>
    /// get onto a device writes into it, as cp does, instead of replacing it with a file (as root,
    /// a rename over /dev/null would have replaced the machine's own); onto a symbolic link it
    /// writes the file the link names, and the link stays a link.
    /// </summary>
    [Fact]
    public async Task Get_writes_into_devices_and_through_links_without_replacing_them()
    {
        var bytes = Binary(10_000, seed: 5);
        await shell.Ok($"mkdir {dir}; put {await HostFile("dev.bin", bytes)} {dir}/f");

        var target = await HostFile("target.bin", "old"u8.ToArray());
        var link = Path.Combine(shell.Host, "link.bin");
        File.CreateSymbolicLink(link, target);
        Assert.Equal($"10000 bytes to {target}\n", await shell.Ok($"get {dir}/f {link}"));
        Assert.Equal(target, new FileInfo(link).LinkTarget);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(target));

        // Devices of the test's own, so that a mistake replaces nothing of the machine's.
        var (null_, full) = (Path.Combine(shell.Host, "null"), Path.Combine(shell.Host, "full"));
        if (!await MakeDevice(null_, 1, 3) || !await MakeDevice(full, 1, 7)) return; // not root: mknod is refused
        Assert.Equal($"10000 bytes to {null_}\n", await shell.Ok($"get {dir}/f {null_}"));
        var error = await shell.Fails($"get {dir}/f {full}");
        Assert.Contains("No space left on device", error);
        foreach (var device in new[] { null_, full })
        {
            Assert.True(HostStat.IsSpecial(device), $"{device} was replaced");
            Assert.True(File.Exists(device));
        }
        Assert.Empty(Directory.GetFiles(shell.Host, ".get-*"));
    }

    private static async Task<bool> MakeDevice(string path, int major, int minor)
    {
        using var mknod = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("mknod", [path, "c", $"{major}", $"{minor}"])
        {
            RedirectStandardError = true,
        })!;
        await mknod.WaitForExitAsync();
        return mknod.ExitCode == 0;
    }

    [Fact]
    public async Task Mkdir_refuses_an_existing_directory_unless_p_and_makes_several()
    {
        await shell.Ok($"mkdir {dir}");
        var error = await shell.Fails($"mkdir {dir}");
        Once(error, dir);
        Assert.Contains("File exists", error);
        Assert.Contains("No such file or directory", await shell.Fails($"mkdir {dir}/x/y"));

        await shell.Ok($"mkdir -p {dir} {dir}/x/y");
        await shell.Ok($"mkdir {dir}/a {dir}/b {dir}/c");
        Assert.Equal("a/\nb/\nc/\nx/\n", await shell.Ok($"ls {dir}"));
        await shell.Ok($"put {await HostFile("f.txt", [1])} {dir}/f");
        Assert.Contains("Not a directory", await shell.Fails($"mkdir -p {dir}/f/g"));
        Assert.Contains("File exists", await shell.Fails($"mkdir {dir}/f"));
    }

    [Fact]
    public async Task Rm_refuses_a_directory_without_r_and_f_ignores_what_is_missing()
    {
        var file = await HostFile("rm.txt", [1, 2, 3]);
        await shell.Ok($"mkdir -p {dir}/d/e; put {file} {dir}/d/e/f; put {file} {dir}/g");
        var error = await shell.Fails($"rm {dir}/d");
        Assert.Equal($"rm: cannot remove '{dir}/d': Is a directory", error);
        Assert.Contains("No such file or directory", await shell.Fails($"rm {dir}/nothing"));
        await shell.Ok($"rm -f {dir}/nothing");
        await shell.Ok("rm -f");
        await shell.Ok($"rm {dir}/g");
        Assert.Contains("Directory not empty", await shell.Fails($"rmdir {dir}/d"));
        await shell.Ok($"rm -rf {dir}/d {dir}/nothing");
        await shell.Ok($"mkdir {dir}/empty; rmdir {dir}/empty");
        Assert.Equal("", await shell.Ok($"ls {dir}"));
        await shell.Ok($"mkdir {dir}/r; rm -R {dir}/r; mkdir {dir}/r; rm --recursive {dir}/r");
    }

    [Fact]
    public async Task Mv_moves_into_a_directory_one_source_or_several()
    {
        var file = await HostFile("mv.txt", [7]);
        await shell.Ok($"mkdir {dir} {dir}/into; put {file} {dir}/a; put {file} {dir}/b; put {file} {dir}/c");
        await shell.Ok($"mv {dir}/a {dir}/into");
        await shell.Ok($"mv {dir}/b {dir}/c {dir}/into/");
        Assert.Equal("a\nb\nc\n", await shell.Ok($"ls {dir}/into"));
        await shell.Ok($"mv {dir}/into/a {dir}/renamed");
        Assert.Equal("into/\nrenamed\n", await shell.Ok($"ls {dir}"));
        Assert.Contains("is not a directory", await shell.Fails($"mv {dir}/renamed {dir}/into/b {dir}/nowhere"));
        Assert.Contains("No such file or directory", await shell.Fails($"mv {dir}/gone {dir}/into"));
        Assert.Contains("Not a directory", await shell.Fails($"mv {dir}/renamed {dir}/new/"));

        // As coreutils: a move onto itself, and a file and a directory over each other, are refused by name.
        Assert.Equal($"mv: '{dir}/into' and '{dir}/into' are the same file", await shell.Fails($"mv {dir}/into {dir}"));
        await shell.Ok($"mkdir {dir}/holder {dir}/holder/renamed {dir}/into/sub; put {file} {dir}/holder/sub");
        Assert.Equal($"mv: cannot overwrite directory '{dir}/holder/renamed' with non-directory", await shell.Fails($"mv {dir}/renamed {dir}/holder"));
        Assert.Equal($"mv: cannot overwrite non-directory '{dir}/holder/sub' with directory '{dir}/into/sub'", await shell.Fails($"mv {dir}/into/sub {dir}/holder"));
        Assert.Equal("into/\nrenamed\nholder/\n".Split('\n').Order(StringComparer.Ordinal), (await shell.Ok($"ls {dir}")).Split('\n').Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Rmdir_of_a_path_ending_in_dots_removes_nothing()
    {
        await shell.Ok($"mkdir {dir} {dir}/y");
        Assert.Equal($"rmdir: failed to remove '{dir}/y/.': Invalid argument", await shell.Fails($"rmdir {dir}/y/."));
        Assert.Contains("Directory not empty", await shell.Fails($"rmdir {dir}/y/.."));
        Assert.Equal("y/\n", await shell.Ok($"ls {dir}"));
    }

    [Fact]
    public async Task Ls_lists_a_file_by_its_name_and_several_paths_as_coreutils()
    {
        var file = await HostFile("ls.txt", [1]);
        await shell.Ok($"mkdir -p {dir}/d/sub {dir}/e; put {file} {dir}/f; put {file} {dir}/d/g");
        Assert.Equal($"{dir}/f\n", await shell.Ok($"ls {dir}/f"));
        Assert.Equal($"{dir}/f\n\n{dir}/d:\ng\nsub/\n\n{dir}/e:\n", await shell.Ok($"ls {dir}/d {dir}/f {dir}/e"));
        var (status, output, errors) = await shell.Sh($"ls {dir}/missing {dir}/f");
        Assert.Equal(1, status);
        Assert.Equal($"{dir}/f\n", output);
        Assert.Equal($"ls: cannot access '{dir}/missing': No such file or directory", Assert.Single(errors));
    }

    [Fact]
    public async Task A_trailing_slash_on_a_file_is_not_a_directory()
    {
        await shell.Ok($"mkdir {dir}; put {await HostFile("slash.txt", [1])} {dir}/f");
        foreach (var command in new[] { "cat", "ls", "rm", "stat", "rmdir" })
        {
            var error = await shell.Fails($"{command} {dir}/f/");
            Assert.Contains("Not a directory", error);
            Once(error, dir);
        }
        Assert.Contains("Not a directory", await shell.Fails($"get {dir}/f/ {shell.Host}/back"));
        Assert.Contains("Is a directory", await shell.Fails($"cat {dir}/"));
        Assert.Equal("f\n", await shell.Ok($"ls {dir}/"));
    }

    [Fact]
    public async Task Dot_and_dot_dot_are_resolved_in_the_shell_and_relative_paths_are_refused()
    {
        var file = await HostFile("dots.txt", "dots\n"u8.ToArray());
        await shell.Ok($"mkdir -p {dir}/a/b");
        await shell.Ok($"put {file} {dir}/a/b/../../f");
        Assert.Equal("dots\n", await shell.Ok($"cat {dir}/./f"));
        Assert.Equal("a/\nf\n", await shell.Ok($"ls {dir}/a/.."));
        Assert.Equal(await shell.Ok("ls /"), await shell.Ok("ls /../.."));
        await shell.Ok($"mv {dir}/./f {dir}/a/b/.");
        Assert.Equal("f\n", await shell.Ok($"ls {dir}/a/b"));
        var error = await shell.Fails("mkdir relative");
        Assert.Contains("'relative'", error);
        Assert.Contains("start with '/'", error);
        Assert.Contains("refusing to remove '.' or '..'", await shell.Fails($"rm -r {dir}/a/.."));
    }

    [Fact]
    public void Words_are_split_as_sh_splits_them()
    {
        Assert.Equal(["a b", "c"], Shell.Words(@"a\ b c"));
        Assert.Equal(["x \"y\" \\ $z \\n", "it's"], Shell.Words(@"""x \""y\"" \\ \$z \n"" it\'s"));
        Assert.Equal([@"a\b ""c""", ""], Shell.Words(@"'a\b ""c""' """""));
        Assert.Equal(["ab'c", "d"], Shell.Words(@"a""b'""c   d"));
        Assert.Equal([@"end\"], Shell.Words(@"end\"));
        Assert.Throws<FormatException>(() => Shell.Words("cat 'open"));
        Assert.Throws<FormatException>(() => Shell.Words(@"cat ""open\"""));
        Assert.Equal(["ls \"a;b\"", @" ls c\;d", " ls 'e;f'", ""], Shell.Commands(@"ls ""a;b""; ls c\;d; ls 'e;f';"));
    }

    [Fact]
    public async Task Quoted_and_escaped_names_reach_the_file_system_whole()
    {
        await shell.Ok($"mkdir {dir}; mkdir '{dir}/two words' {dir}/back\\ slash \"{dir}/say \\\"hi\\\"\"");
        Assert.Equal("back slash/\nsay \"hi\"/\ntwo words/\n", await shell.Ok($"ls {dir}"));
        Assert.Equal(2, (await shell.Sh("ls 'unterminated")).Status);
    }

    [Fact]
    public async Task An_error_is_one_line_with_the_path_once_and_the_errno_text()
    {
        var error = await shell.Fails($"cat {dir}/b/x");
        Once(error, $"{dir}/b/x");
        Assert.Contains("No such file or directory", error);
        Assert.DoesNotContain("ENOENT", error);

        await shell.Ok($"mkdir {dir}; put {await HostFile("e.txt", [1])} {dir}/f");
        error = await shell.Fails($"get {dir}/f {shell.Host}");
        Assert.Equal($"get: cannot write '{shell.Host}': Is a directory", error);
        error = await shell.Fails($"get {dir}/f {shell.Host}/no/such/dir/f");
        Assert.Contains("No such file or directory", error);
        Once(error, "/no/such/dir/f");
        error = await shell.Fails($"put {shell.Host}/absent {dir}/g");
        Assert.Contains("No such file or directory", error);
        Once(error, "absent");
        Assert.Contains("Is a directory", await shell.Fails($"put {shell.Host} {dir}/g"));
        Assert.Contains("Is a directory", await shell.Fails($"cat {dir}"));
        Assert.Contains("Not a directory", await shell.Fails($"ls {dir}/f/x"));
    }

    [Fact]
    public async Task Wrong_arguments_are_usage_errors_with_status_2_and_the_shell_goes_on()
    {
        foreach (var line in new[]
        {
            "cat", "ls -z /", "rm", "rm -x /a", "rm --bogus /a", "mkdir", "mkdir -q /a", "rmdir", "mv", "mv /a",
            "put", "put /a", "put /a /b /c", "get /a", "stat", "kill", "kill 1 2", "ps x", "fleets x", "layout x", "top x", "names / x", "run",
        })
        {
            var error = await shell.Fails(line, status: 2);
            Assert.Contains("usage: ", error);
        }
        Assert.Contains("'abc' is not a pid", await shell.Fails("kill abc", status: 2));
        Assert.Equal(127, (await shell.Sh("frobnicate")).Status);
        await shell.Ok("ls /");
    }

    [Fact]
    public async Task A_script_ends_with_the_status_of_its_last_command()
    {
        Assert.Equal(1, (await shell.Sh($"ls /; cat {dir}/missing")).Status);
        Assert.Equal(1, (await shell.Sh($"cat {dir}/missing;")).Status);
        Assert.Equal(0, (await shell.Sh($"cat {dir}/missing; ls /")).Status);
    }
}

/// <summary>A put that fails part way, on a node whose file-system members hold at most 1 MiB each.</summary>
public sealed class ShellQuotaTests : IAsyncLifetime
{
    private readonly ShellNode shell = new(quotaPerMember: 1 << 20);

    public Task InitializeAsync() => shell.InitializeAsync();

    public Task DisposeAsync() => shell.DisposeAsync();

    [Fact]
    public async Task A_put_that_runs_out_of_space_leaves_nothing_behind_and_keeps_an_older_file()
    {
        var big = Path.Combine(shell.Host, "big.bin");
        await File.WriteAllBytesAsync(big, new byte[4 << 20]);
        var small = Path.Combine(shell.Host, "small.txt");
        await File.WriteAllTextAsync(small, "the old file\n");
        await shell.Ok("mkdir /q; put " + small + " /q/old");

        var error = await shell.Fails($"put {big} /q/new");
        Assert.Contains("No space left on device", error);
        Once(error, "/q/new");
        error = await shell.Fails($"put {big} /q/old");
        Assert.Contains("No space left on device", error);
        Assert.Equal("old\n", await shell.Ok("ls /q"));
        Assert.Equal("the old file\n", await shell.Ok("cat /q/old"));
        await shell.Ok("put " + small + " /q/after"); // the space the failed puts took is free again
    }

    private static void Once(string text, string part) => ShellNode.Once(text, part);
}
