using Fos.Kernel;
using MessagePack;

namespace Fos.Protocols.Wire;

/// <summary>Checks the hand-written formatters share.</summary>
internal static class WireFormat
{
    public static void ExpectArray(ref MessagePackReader reader, int count, string what)
    {
        var actual = reader.ReadArrayHeader();
        if (actual != count) throw Malformed($"{what} is {count} values, but this one has {actual}");
    }

    public static FosException Malformed(string detail) => new(FosError.BadRequest, $"malformed message body: {detail}");
}
