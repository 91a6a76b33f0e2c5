using Fos.Kernel.Processes;
using Fos.Protocols.Processes;

namespace Fos.Services.Processes;

/// <summary>
/// What a process wrote, in order, as positions in one stream of bytes: readers ask from a
/// position and get what came after it. Bounded: past <see cref="ProcLimits.KeptOutput"/> bytes per
/// stream the oldest chunks go, and a reader that fell behind is told how much it lost.
/// </summary>
internal sealed class OutputLog
{
    private readonly Queue<(long At, ProcChunk Chunk)> chunks = new();
    private long start;
    private readonly long[] kept = new long[2];

    /// <summary>The position after the last byte written.</summary>
    public long End { get; private set; }

    public void Append(ProcessStream stream, byte[] bytes)
    {
        if (bytes.Length == 0) return;
        var error = stream == ProcessStream.Error;
        chunks.Enqueue((End, new ProcChunk(error, bytes)));
        End += bytes.Length;
        kept[error ? 1 : 0] += bytes.Length;
        while (kept[0] > ProcLimits.KeptOutput || kept[1] > ProcLimits.KeptOutput)
        {
            var (_, dropped) = chunks.Dequeue();
            kept[dropped.Error ? 1 : 0] -= dropped.Bytes.Length;
            start = chunks.TryPeek(out var first) ? first.At : End;
        }
    }

    /// <summary>Everything from <paramref name="from"/> on (a first chunk cut to start there), and how much before it is gone.</summary>
    public (ProcChunk[] Chunks, long Lost) Read(long from)
    {
        var lost = Math.Max(0, start - from);
        var result = new List<ProcChunk>();
        foreach (var (at, chunk) in chunks)
        {
            var end = at + chunk.Bytes.Length;
            if (end <= from) continue;
            result.Add(at >= from ? chunk : new ProcChunk(chunk.Error, chunk.Bytes[(int)(from - at)..]));
        }
        return ([.. result], lost);
    }

    /// <summary>The kept text of one stream, for <see cref="ProcExit"/>.</summary>
    public string Text(bool error)
    {
        using var bytes = new MemoryStream();
        foreach (var (_, chunk) in chunks)
            if (chunk.Error == error) bytes.Write(chunk.Bytes);
        return System.Text.Encoding.UTF8.GetString(bytes.GetBuffer(), 0, (int)bytes.Length);
    }
}
