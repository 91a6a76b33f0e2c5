using MessagePack;

namespace Fos.Protocols.Wire;

/// <summary>The one set of serializer options every body is written and read with, made once.</summary>
internal static class WireOptions
{
    /// <summary>
    /// Deep enough for every protocol (the deepest, a name listing, is five levels; a forwarded
    /// handle request adds one more), shallow enough that a hostile body cannot exhaust the stack.
    /// </summary>
    public const int MaxDepth = 32;

    public static readonly WireResolver Resolver = WireResolver.Instance;

    public static readonly MessagePackSerializerOptions Options = MessagePackSerializerOptions.Standard
        .WithResolver(Resolver)
        .WithSecurity(MessagePackSecurity.UntrustedData.WithMaximumObjectGraphDepth(MaxDepth))
        // No compression: a body is never larger in memory than on the wire, so a few hostile
        // bytes cannot unpack into a large allocation.
        .WithCompression(MessagePackCompression.None);
}
