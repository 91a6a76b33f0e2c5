namespace Fos.Kernel;

/// <summary>Asks a core's kernel to start a server there; the reply is the server's <see cref="Endpoint"/>.</summary>
internal sealed record SpawnRequest(ServerImage Image);

/// <summary>Asks a core's kernel to stop the server that owns a mailbox; the capability must be that mailbox's.</summary>
internal sealed record StopRequest(Endpoint Server);

/// <summary>The reply of a call whose handler has nothing to say.</summary>
public sealed record Ack
{
    public static readonly Ack Instance = new();
}
