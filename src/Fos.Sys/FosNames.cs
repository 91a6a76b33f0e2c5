using Fos.Kernel;
using Fos.Kernel.Naming;

namespace Fos.Sys;

/// <summary>
/// Names and messages for applications: open a mailbox, give it a name, find the nearest member
/// of a name, and send or call. This is the kernel's own API, reached from application code; it is
/// how applications build services of their own (a worker pool under one name, say).
/// </summary>
public static class FosNames
{
    /// <summary>Opens a mailbox on this core whose messages run <paramref name="handler"/>.</summary>
    /// <remarks>The mailbox closes when the process ends (its core goes with it), if it has not closed it before.</remarks>
    public static Endpoint OpenMailbox(Func<Message, ValueTask<object?>> handler, int capacity = 0) =>
        SysCall.Enter().CreateMailbox(new MessageHandler(handler), capacity);

    /// <summary>Closes a mailbox this code opened; later messages to it are refused.</summary>
    public static void CloseMailbox(Endpoint mailbox) => SysCall.Enter().CloseMailbox(mailbox.Address);

    /// <summary>
    /// Adds <paramref name="member"/> to the members of <paramref name="name"/>; withdrawn when the
    /// process ends. An application names only its own mailboxes, under <c>/user/</c>.
    /// </summary>
    public static Task<NameRecord> RegisterAsync(string name, Endpoint member) => SysCall.Enter().Register(name, member);

    public static Task<NameRecord> UnregisterAsync(string name, Endpoint member) => SysCall.Enter().Unregister(name, member);

    /// <summary>The nearest member of <paramref name="name"/> (cached by the kernel).</summary>
    public static Task<Endpoint> LookupAsync(string name) => SysCall.Enter().Lookup(name).AsTask();

    /// <summary>Every member of <paramref name="name"/>, nearest first.</summary>
    public static Task<NameRecord> LookupAllAsync(string name) => SysCall.Enter().LookupAll(name).AsTask();

    /// <summary>Every name under <paramref name="prefix"/>.</summary>
    public static async Task<NameRecord[]> ListAsync(string prefix = "/") =>
        [.. (await SysCall.Enter().Call<NameListing>(WellKnownNames.NameService, new NameList(prefix))).Names];

    /// <summary>A one-way message.</summary>
    public static void Send(Endpoint to, object? message) => SysCall.Enter().Send(to, message);

    /// <summary>A request and its reply, or a FosException saying why not.</summary>
    public static ValueTask<T> CallAsync<T>(Endpoint to, object? request, TimeSpan timeout = default) => SysCall.Enter().Call<T>(to, request, timeout);

    /// <summary>A request to the nearest member of <paramref name="name"/>.</summary>
    public static Task<T> CallAsync<T>(string name, object? request, TimeSpan timeout = default) => SysCall.Enter().Call<T>(name, request, timeout);
}
