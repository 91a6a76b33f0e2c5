// pwc DIR [TOP]: a parallel word count. It splits the files of a fos directory among one worker
// process per application core (this same program, started with --worker), each worker counts
// the words of its files, and the counts come back through the workers' output and are merged here.
using System.Globalization;
using Fos.Sys;

if (args.Length > 0 && args[0] == "--worker")
{
    var counts = new Dictionary<string, long>(StringComparer.Ordinal);
    foreach (var path in args[1..])
        foreach (var word in (await FosFile.ReadAllTextAsync(path)).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            counts[word.ToLowerInvariant()] = counts.GetValueOrDefault(word.ToLowerInvariant()) + 1;
    foreach (var (word, count) in counts) FosProcess.Out.WriteLine($"{word}\t{count}");
    return 0;
}

if (args.Length is < 1 or > 2 || (args.Length == 2 && !int.TryParse(args[1], out _)))
{
    FosProcess.Error.WriteLine("usage: pwc DIR [TOP]");
    return 2;
}
var top = args.Length == 2 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10;
string[] files;
try
{
    files = await FosDirectory.GetFilesAsync(args[0]);
}
catch (FosIOException ex)
{
    FosProcess.Error.WriteLine($"pwc: {ex.Message}");
    return 1;
}
var cores = await FosProcess.ApplicationCoresAsync();
var workers = Math.Max(1, Math.Min(cores.Length, files.Length));
var self = typeof(Program).Assembly.Location;
var pids = new List<long>();
for (var w = 0; w < workers; w++)
    pids.Add(await FosProcess.StartAsync(self, ["--worker", .. files.Where((_, i) => i % workers == w)], cores[w % cores.Length]));
var total = new Dictionary<string, long>(StringComparer.Ordinal);
foreach (var pid in pids)
{
    var exit = await FosProcess.WaitAsync(pid);
    if (exit.ExitCode != 0)
    {
        FosProcess.Error.Write(exit.Error);
        return 1;
    }
    foreach (var line in exit.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
    {
        var tab = line.LastIndexOf('\t');
        total[line[..tab]] = total.GetValueOrDefault(line[..tab]) + long.Parse(line[(tab + 1)..], CultureInfo.InvariantCulture);
    }
}
FosProcess.Out.WriteLine($"{files.Length} files, {workers} workers, {total.Values.Sum()} words, {total.Count} distinct");
foreach (var (word, count) in total.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Take(top))
    FosProcess.Out.WriteLine($"{count,8} {word}");
return 0;
