namespace Fos.Kernel;

/// <summary>
/// A fos server: a message handler that runs on one core's single-threaded loop. Handlers may
/// await; other messages are handled while one waits, so state is safe between awaits (as in an
/// event loop) and a server never deadlocks by calling a server that calls it back.
/// </summary>
public abstract class Server
{
    private IKernel? kernel;

    /// <summary>The kernel of the core this server runs on: its only window on the world.</summary>
    protected IKernel Kernel => kernel ?? throw new InvalidOperationException("the server has not been started by a kernel");

    /// <summary>The server's main mailbox.</summary>
    public Endpoint Endpoint { get; private set; }

    /// <summary>The name of the image it was started from, as the layout shows it.</summary>
    public string ImageName { get; private set; } = "";

    internal void Attach(IKernel owner, Endpoint endpoint, string imageName)
    {
        kernel = owner;
        Endpoint = endpoint;
        ImageName = imageName;
    }

    /// <summary>Runs once on the server's core after its mailbox opens. A throw stops the server.</summary>
    protected virtual Task OnStart() => Task.CompletedTask;

    /// <summary>Handles one message; for a call, the result is the reply.</summary>
    protected abstract ValueTask<object?> Handle(Message message);

    /// <summary>Runs when the server is stopped or its core shuts down.</summary>
    protected virtual void OnStop() { }

    /// <summary>A reply that is ready now, for a handler's switch.</summary>
    protected static ValueTask<object?> Reply(object? result) => ValueTask.FromResult(result);

    /// <summary>A reply that comes when <paramref name="work"/> finishes, for a handler's switch.</summary>
    protected static async ValueTask<object?> ReplyWhenDone<T>(Task<T> work) => await work;

    internal Task Start() => OnStart();

    internal ValueTask<object?> Receive(Message message) => Handle(message);

    internal void Stop() => OnStop();
}

/// <summary>
/// What <see cref="IKernel.Spawn"/> starts: a named factory of servers. Within a machine the
/// factory is called on the target core, so the server's state is born there and never shared.
/// </summary>
public sealed record ServerImage(string Name, Func<Server> Create, int MailboxCapacity = 0)
{
    public override string ToString() => Name;
}
