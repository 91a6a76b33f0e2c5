using System.Diagnostics;

namespace Fos.Bench.Baselines;

/// <summary>
/// Baseline <c>host-fs</c>: the host file system through System.IO on the same disk as fos's data,
/// with fos's fsync policy: a file is fsynced when it is closed (FileStream.Flush(true)).
/// </summary>
internal static class HostFs
{
    public const string Id = "host-fs";

    /// <summary>Time to create, write and close (with fsync) <paramref name="count"/> files.</summary>
    public static Task<TimeSpan> SmallFiles(string directory, long count, byte[] payload) => Task.Run(() =>
    {
        Directory.CreateDirectory(directory);
        var start = Stopwatch.GetTimestamp();
        WriteFiles(directory, count, payload);
        return Stopwatch.GetElapsedTime(start);
    });

    /// <summary>
    /// The same with <paramref name="writers"/> threads at once, each in a directory of its own,
    /// <paramref name="count"/> files in all: the journal commits their fsyncs together.
    /// </summary>
    public static Task<TimeSpan> SmallFilesConcurrently(string directory, long count, byte[] payload, int writers) => Task.Run(() =>
    {
        for (var w = 0; w < writers; w++) Directory.CreateDirectory(Path.Combine(directory, $"w{w}"));
        var start = Stopwatch.GetTimestamp();
        var threads = Enumerable.Range(0, writers)
            .Select(w => new Thread(() => WriteFiles(Path.Combine(directory, $"w{w}"), Share(count, writers, w), payload)) { IsBackground = true })
            .ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return Stopwatch.GetElapsedTime(start);
    });

    /// <summary>Writer <paramref name="writer"/>'s share of <paramref name="count"/> files among <paramref name="writers"/>.</summary>
    public static long Share(long count, int writers, int writer) => count / writers + (writer < count % writers ? 1 : 0);

    private static void WriteFiles(string directory, long count, byte[] payload)
    {
        for (var i = 0L; i < count; i++)
        {
            using var file = new FileStream(Path.Combine(directory, $"f{i}"), FileMode.Create, FileAccess.Write, FileShare.None, 4096);
            file.Write(payload);
            file.Flush(flushToDisk: true);
        }
    }

    /// <summary>Time to write <paramref name="megabytes"/> MiB in chunks and close with fsync.</summary>
    public static Task<TimeSpan> WriteSequential(string path, long megabytes, byte[] chunk) => Task.Run(() =>
    {
        var start = Stopwatch.GetTimestamp();
        using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            for (var written = 0L; written < megabytes << 20; written += chunk.Length) file.Write(chunk);
            file.Flush(flushToDisk: true);
        }
        return Stopwatch.GetElapsedTime(start);
    });

    /// <summary>Time to read the file back in <paramref name="bufferSize"/> reads.</summary>
    public static Task<TimeSpan> ReadSequential(string path, long megabytes, int bufferSize) => Task.Run(() =>
    {
        var buffer = new byte[1 << 20];
        var start = Stopwatch.GetTimestamp();
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize);
        var total = 0L;
        for (int n; (n = file.Read(buffer)) > 0;) total += n;
        if (total != megabytes << 20) throw new InvalidOperationException($"read {total} bytes of {megabytes} MiB");
        return Stopwatch.GetElapsedTime(start);
    });
}
