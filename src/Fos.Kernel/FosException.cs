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
    /// <summary>This machine has no storage for services (it was booted without a data directory).</summary>
    NoStorage,
    /// <summary>A service refused the request for a reason of its own; <see cref="FosException.Code"/> says which (a POSIX error name for files).</summary>
    ServiceError,
    /// <summary>The target's machine is down or cut off: nothing was heard from it for longer than a machine is given.</summary>
    MachineDown,
}

/// <summary>A failed kernel operation, with the reason in <see cref="Error"/>.</summary>
public class FosException : Exception
{
    public FosError Error { get; }

    public FosException(FosError error, string message, string? code = null) : base(message)
    {
        Error = error;
        Code = code;
    }

    public FosException(KernelFault fault) : this(fault.Error, fault.Message, fault.Code) { }

    /// <summary>The service's own reason, for <see cref="FosError.ServiceError"/> (for example "ENOENT").</summary>
    public string? Code { get; }

    /// <summary>
    /// The receiver did not answer: its core or machine is down, its mailbox is gone, or it is one
    /// from before its machine restarted (another mailbox has its number now, with another capability).
    /// </summary>
    public bool Unanswered => Code is null && Error is FosError.Timeout or FosError.NoSuchMailbox or FosError.NoSuchCore
        or FosError.MachineDown or FosError.CapabilityRefused;
}
