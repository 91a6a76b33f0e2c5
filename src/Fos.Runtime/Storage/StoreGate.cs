namespace Fos.Runtime.Storage;

/// <summary>
/// Keeps an engine's native handle alive while anything uses it: every call into the engine
/// (a read or write on the core, a sync or compaction on a pool thread) holds a pass, and
/// <see cref="Close"/> refuses new passes and waits for the ones out before the handle may go.
/// Without it, a sync still running on a pool thread while the store is disposed would use freed
/// native memory.
/// </summary>
internal sealed class StoreGate(string name)
{
    private readonly object sync = new();
    private int inside;
    private bool closed;

    /// <summary>Takes a pass, or throws <see cref="ObjectDisposedException"/> once the store is closing.</summary>
    public Pass Enter()
    {
        lock (sync)
        {
            if (closed) throw new ObjectDisposedException(ToString(), $"{this} is closed");
            inside++;
        }
        return new Pass(this);
    }

    /// <summary>Takes a pass if the store is still open.</summary>
    public bool TryEnter(out Pass pass)
    {
        lock (sync)
        {
            pass = new Pass(closed ? null : this);
            if (closed) return false;
            inside++;
            return true;
        }
    }

    /// <summary>Refuses new passes and waits until every pass out is back; false if it was closed already.</summary>
    public bool Close()
    {
        lock (sync)
        {
            if (closed) return false;
            closed = true;
            while (inside > 0) Monitor.Wait(sync);
            return true;
        }
    }

    public override string ToString() => $"store '{name}'";

    private void Leave()
    {
        lock (sync)
        {
            if (--inside == 0 && closed) Monitor.PulseAll(sync);
        }
    }

    public readonly struct Pass(StoreGate? gate) : IDisposable
    {
        public void Dispose() => gate?.Leave();
    }
}
