namespace Fos.Kernel;

/// <summary>A message as its handler sees it.</summary>
public readonly struct Message
{
    public Message(object? body, Address from, Address to, bool isCall)
    {
        Body = body;
        From = from;
        To = to;
        IsCall = isCall;
    }

    /// <summary>The immutable payload.</summary>
    public object? Body { get; }

    /// <summary>The sending core's kernel mailbox: replies go back through it. Use <c>From.CoreId</c> to know where the sender runs.</summary>
    public Address From { get; }

    /// <summary>The mailbox it was delivered to.</summary>
    public Address To { get; }

    /// <summary>True when the sender waits for the handler's result as a reply.</summary>
    public bool IsCall { get; }

    /// <summary>Whether an application process sent it (its core is attested by the machine, never taken from the message).</summary>
    public bool FromProcess => From.CoreId.IsProcess;

    /// <summary>
    /// Refuses a message only the machine's own cores may send (configuration, fleet traffic, a
    /// process's end) when an application sent it: a clear error for the sender, counted in
    /// <paramref name="refusals"/> by the service.
    /// </summary>
    public void RequireSystem(ref long refusals)
    {
        if (!FromProcess) return;
        refusals++;
        throw new FosException(FosError.CapabilityRefused,
            $"{To} refused {Body?.GetType().Name ?? "null"} from {From.CoreId}: only the system's own servers may send it");
    }
}

/// <summary>
/// A message handler. For a call, the returned value is the reply; for a one-way send it is
/// dropped. A thrown exception becomes a <see cref="FosError.HandlerFailed"/> fault for the caller.
/// </summary>
public delegate ValueTask<object?> MessageHandler(Message message);
