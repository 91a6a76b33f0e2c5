namespace Fos.Bench;

/// <summary>How long and how carefully to measure.</summary>
public sealed record BenchSettings
{
    /// <summary>Short chunks: a whole scenario in a couple of seconds (tests and CI).</summary>
    public bool Quick { get; init; }

    /// <summary>Alternating chunks per contender; the median chunk is reported.</summary>
    public int Chunks { get; init; } = 11;

    /// <summary>
    /// How long every calibrated contender runs, untimed, after calibration: a machine that has just started a
    /// process or opened a store is not yet in its steady state (JIT tiering runs in the
    /// background, on the very CPUs being measured).
    /// </summary>
    internal TimeSpan Settle => Quick ? TimeSpan.Zero : TimeSpan.FromSeconds(2);

    /// <summary>How long one chunk of one contender should run.</summary>
    internal TimeSpan ChunkTarget => Quick ? TimeSpan.FromMilliseconds(20) : TimeSpan.FromMilliseconds(200);
}
