namespace Fos.Kernel;

/// <summary>A mailbox on a core: its handler, the capability that lets messages in, and how full it is.</summary>
internal sealed class Mailbox(uint id, MessageHandler handler, Capability capability, int capacity, Server? owner)
{
    public uint Id { get; } = id;
    public MessageHandler Handler { get; } = handler;
    public Capability Capability { get; set; } = capability;
    /// <summary>Capabilities this mailbox had before a revoke, so a stale one is refused with a precise reason.</summary>
    public List<Capability>? Revoked { get; set; }
    public int Capacity { get; } = capacity;
    public Server? Owner { get; } = owner;
    /// <summary>Messages accepted whose handlers have not finished: the mailbox's fill level.</summary>
    public int InFlight { get; set; }
    public long Handled { get; set; }
    public bool Closed { get; set; }
}
