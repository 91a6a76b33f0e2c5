namespace Fos.Kernel;

/// <summary>
/// What a library's typed calls make of a failure, decided once and shared by every call, so that
/// a system call can hand its caller the kernel's own record of the call with no async method of
/// its own in between (each such level costs a task and a resumption on every system call).
/// </summary>
/// <param name="Failover">
/// When the mailbox called is gone (its server left its fleet), the call goes once more, to the
/// nearest member of this name: a fleet that shrinks hands on what its leaving members kept.
/// </param>
/// <param name="Translate">The exception the caller sees for a failure: a library's own kind of error.</param>
public sealed record CallPolicy(string? Failover = null, Func<FosException, Exception>? Translate = null);
