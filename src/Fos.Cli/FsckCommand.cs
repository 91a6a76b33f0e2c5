using System.CommandLine;
using Fos.Kernel;
using Fos.Kernel.Storage;
using Fos.Runtime.Storage;
using Fos.Services.FileSystem;

namespace Fos.Cli;

/// <summary>
/// <c>fos fsck</c>: checks the file system of a stopped node, offline, from its members' stores:
/// exit 0 when it is whole, 1 when something is wrong (each problem one line), 2 when it cannot
/// look. <c>--repair</c> mends what it found, then checks again.
/// </summary>
internal static class FsckCommand
{
    public static Command Create()
    {
        var data = DataOption.Create();
        var repair = new Option<bool>("--repair") { Description = "drop entries that name nothing and move what nothing reaches to /lost+found" };
        var command = new Command("fsck", "Check the file system of a stopped node") { data, repair };
        command.SetAction(result => Run(Path.GetFullPath(result.GetValue(data)!), result.GetValue(repair), Console.Out, Console.Error));
        return command;
    }

    public static int Run(string directory, bool repair, TextWriter output, TextWriter error)
    {
        var storesRoot = Path.Combine(directory, "stores", "fs");
        if (!Directory.Exists(storesRoot))
        {
            error.WriteLine($"fos fsck: {directory} holds no file system (no {storesRoot}); boot a node on it first");
            return 2;
        }
        try
        {
            using var held = DataDirectoryLock.Take(directory); // a running node holds it: its stores are not ours to read
            var names = Directory.GetDirectories(storesRoot, "member-*").Select(d => "fs/" + Path.GetFileName(d)).Order(StringComparer.Ordinal).ToList();
            var engine = names.Count > 0 && File.Exists(Path.Combine(directory, "stores", names[0], "store.sqlite")) ? StoreEngine.Sqlite : StoreEngine.RocksDb;
            using var disk = new DiskStores(directory, engine);
            var stores = names.Select(disk.Open).ToList();
            try
            {
                var checker = new FsChecker(stores).Check();
                Report(checker, output);
                if (checker.Problems.Count == 0) return 0;
                if (!repair) return 1;
                var changes = checker.Repair();
                foreach (var store in stores) store.Sync().GetAwaiter().GetResult();
                output.WriteLine($"repaired: {changes} change{(changes == 1 ? "" : "s")}");
                var again = new FsChecker(stores).Check();
                Report(again, output);
                return again.Problems.Count == 0 ? 0 : 1;
            }
            finally
            {
                foreach (var store in stores) store.Dispose();
            }
        }
        catch (FosException ex)
        {
            error.WriteLine($"fos fsck: {ex.Message}");
            return 2;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            error.WriteLine($"fos fsck: cannot read {directory}: {ex.Message}");
            return 2;
        }
    }

    private static void Report(FsChecker checker, TextWriter output)
    {
        foreach (var problem in checker.Problems) output.WriteLine(problem);
        foreach (var intent in checker.Unfinished)
            output.WriteLine($"unfinished {intent.Kind.ToString().ToLowerInvariant()} of '{intent.Name}' (the next boot finishes it)");
        output.WriteLine($"{checker.Files} files, {checker.Directories} directories, {checker.Bytes} bytes; " +
            (checker.Problems.Count == 0 ? "no problems" : $"{checker.Problems.Count} problem{(checker.Problems.Count == 1 ? "" : "s")}"));
    }
}
