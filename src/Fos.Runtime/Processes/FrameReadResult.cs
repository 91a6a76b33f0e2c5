namespace Fos.Runtime.Processes;

/// <summary>What <see cref="FrameRing.TryRead"/> found.</summary>
public enum FrameReadResult
{
    /// <summary>No frame waiting.</summary>
    Empty,

    /// <summary>One frame copied out.</summary>
    Frame,

    /// <summary>The peer broke the ring's rules; the ring yields nothing ever again.</summary>
    Corrupt,
}
