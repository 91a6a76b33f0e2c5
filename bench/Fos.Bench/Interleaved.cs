namespace Fos.Bench;

/// <summary>
/// One thing being timed: runs the given number of operations and says how long they took.
/// <paramref name="FixedCount"/> skips calibration (for operations whose timed part is a small
/// share of their wall time); the first run is then a warm-up only.
/// </summary>
internal sealed record Contender(string Name, Func<long, Task<TimeSpan>> Run, long? FixedCount = null);

/// <summary>
/// Runs contenders in short alternating chunks (a, b, c, a, b, c, ...) so that each sees the same
/// CPU placement and the same background noise as the others, and keeps every chunk's seconds per
/// operation. The caller reports the median chunk: a ratio of medians taken this way holds on a
/// noisy machine where one long run of each would not.
/// </summary>
internal static class Interleaved
{
    public static async Task<double[][]> Measure(IReadOnlyList<Contender> contenders, BenchSettings settings, Action<string>? progress)
    {
        var counts = new long[contenders.Count];
        for (var c = 0; c < contenders.Count; c++)
        {
            progress?.Invoke($"calibrating {contenders[c].Name}");
            counts[c] = contenders[c].FixedCount is { } fixedCount
                ? await WarmUp(contenders[c], fixedCount)
                : await Calibrate(contenders[c], settings.ChunkTarget);
        }
        // Untimed rounds of the calibrated contenders until the machine settles; each count is
        // scaled again from its last round, as calibration under that noise undercounts. (A
        // fixed-count contender is a long operation, files or processes, whose first run was its
        // warm-up: more rounds of it would only leave more for the disk to write back.)
        var settling = System.Diagnostics.Stopwatch.StartNew();
        var calibrated = Enumerable.Range(0, contenders.Count).Where(c => contenders[c].FixedCount is null).ToArray();
        while (calibrated.Length > 0 && settling.Elapsed < settings.Settle)
        {
            progress?.Invoke("settling");
            foreach (var c in calibrated) counts[c] = Scale(counts[c], await contenders[c].Run(counts[c]), settings.ChunkTarget);
        }
        var samples = contenders.Select(_ => new double[settings.Chunks]).ToArray();
        for (var chunk = 0; chunk < settings.Chunks; chunk++)
            for (var c = 0; c < contenders.Count; c++)
            {
                progress?.Invoke($"chunk {chunk + 1}/{settings.Chunks}: {contenders[c].Name}, {counts[c]:N0} ops");
                var elapsed = await contenders[c].Run(counts[c]);
                samples[c][chunk] = elapsed.TotalSeconds / counts[c];
                progress?.Invoke($"chunk {chunk + 1}/{settings.Chunks}: {contenders[c].Name}: {samples[c][chunk] * 1e9:N1} ns/op ({elapsed.TotalMilliseconds:N0} ms)");
            }
        return samples;
    }

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) throw new ArgumentException("no samples", nameof(values));
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    // Grows the count until one run is long enough to time, scales it to the chunk target, then
    // runs that once more and scales again: the first runs are slow (JIT tiers, caches, a parked
    // core's first wake-up), so they double as the warm-up and are not trusted for the count.
    private static async Task<long> Calibrate(Contender contender, TimeSpan target)
    {
        long count = 16;
        while (true)
        {
            var elapsed = await contender.Run(count);
            if (elapsed >= target / 4 || count >= 1L << 36)
            {
                count = Scale(count, elapsed, target);
                return Scale(count, await contender.Run(count), target);
            }
            count *= elapsed < target / 64 ? 16 : 4;
        }
    }

    private static async Task<long> WarmUp(Contender contender, long count)
    {
        await contender.Run(count);
        return count;
    }

    private static long Scale(long count, TimeSpan elapsed, TimeSpan target) =>
        Math.Max(1, (long)(count * (target / Max(elapsed, TimeSpan.FromTicks(1)))));

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
