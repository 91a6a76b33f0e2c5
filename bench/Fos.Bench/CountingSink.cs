using Fos.Kernel;

namespace Fos.Bench;

/// <summary>
/// The receiving end of msg-throughput: counts one-way messages and answers any call with the count
/// so far. Messages are FIFO per sender and receiver, so a call's answer covers every send made
/// before it.
/// </summary>
internal sealed class CountingSink : Server
{
    public static readonly ServerImage Image = new("bench-sink", () => new CountingSink());

    private long received;

    protected override ValueTask<object?> Handle(Message message)
    {
        if (message.IsCall) return ValueTask.FromResult<object?>(received);
        received++;
        return default;
    }
}
