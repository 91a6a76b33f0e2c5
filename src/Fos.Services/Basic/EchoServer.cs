using Fos.Kernel;

namespace Fos.Services.Basic;

/// <summary>Answers every call with the message it was sent: the partner of ping-pong tests and scenarios.</summary>
public sealed class EchoServer : Server
{
    public static readonly ServerImage Image = new("echo", () => new EchoServer());

    protected override ValueTask<object?> Handle(Message message) => ValueTask.FromResult(message.Body);
}

/// <summary>Does nothing and answers at once: the far end of the null system call.</summary>
public sealed class NullServer : Server
{
    public static readonly ServerImage Image = new("null", () => new NullServer());

    protected override ValueTask<object?> Handle(Message message) => ValueTask.FromResult<object?>(null);
}
