namespace Fos.Kernel;

/// <summary>Why a kernel operation failed. Every failure a program can see has one of these.</summary>
public enum FosError
{
    /// <summary>No mailbox at that address: it never existed, or its server died or stopped.</summary>
    NoSuchMailbox,
    /// <summary>The message carried a wrong, stale or revoked capability; it was refused and counted.</summary>
    CapabilityRefused,
    /// <summary>The receiving mailbox is full; try again later (back-pressure, nothing was queued).</summary>
    MailboxFull,
    /// <summary>No reply came within the call's timeout.</summary>
    Timeout,
    /// <summary>The receiving handler threw; the server keeps running.</summary>
    HandlerFailed,
    /// <summary>The outbound path to a core is full; the sender must slow down.</summary>
    Backpressure,
    /// <summary>A name has no members.</summary>
    NoSuchName,
    /// <summary>The request was malformed or not understood by the receiver.</summary>
    BadRequest,
    /// <summary>The target core or machine is not part of this system, or is down.</summary>
    NoSuchCore,
    /// <summary>The kernel is shutting down.</summary>
    ShuttingDown,
}

/// <summary>A failed kernel operation, with the reason in <see cref="Error"/>.</summary>
public class FosException : Exception
{
    public FosError Error { get; }

    public FosException(FosError error, string message) : base(message) => Error = error;

    public FosException(KernelFault fault) : this(fault.Error, fault.Message) { }
}
