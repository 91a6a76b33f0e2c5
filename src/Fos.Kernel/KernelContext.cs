namespace Fos.Kernel;

/// <summary>
/// The loop of a fos core as a SynchronizationContext that knows its kernel. Both runtimes give
/// every core one, so code running on a core (a server, an application, the system-call library)
/// finds its kernel with <see cref="KernelContext.Current"/> and needs no kernel passed around.
/// </summary>
public abstract class KernelSynchronizationContext : SynchronizationContext
{
    public abstract IKernel Kernel { get; }

    /// <summary>Whether the calling thread is the one that runs this core's loop.</summary>
    public abstract bool IsLoopThread { get; }
}

/// <summary>Where code on a fos core finds its kernel.</summary>
public static class KernelContext
{
    /// <summary>The kernel of the core this code runs on, or null off fos cores.</summary>
    public static IKernel? TryCurrent => (SynchronizationContext.Current as KernelSynchronizationContext)?.Kernel;

    /// <summary>The kernel of the core this code runs on.</summary>
    /// <exception cref="InvalidOperationException">Not on a fos core (or an await left it with ConfigureAwait(false)).</exception>
    public static IKernel Current => TryCurrent ?? throw new InvalidOperationException(
        "this code is not running on a fos core: fos calls work only in fos applications and servers (fos run app.dll), " +
        "and only on the core's own loop (do not use ConfigureAwait(false) or Task.Run)");
}
