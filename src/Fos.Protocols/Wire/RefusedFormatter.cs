using Fos.Kernel;
using MessagePack;
using MessagePack.Formatters;

namespace Fos.Protocols.Wire;

/// <summary>
/// The formatter of a type no registered body may contain (an <see cref="object"/> member, a
/// type from outside the protocols): writing or reading one fails as a bad request.
/// </summary>
internal sealed class RefusedFormatter<T> : IMessagePackFormatter<T>
{
    public void Serialize(ref MessagePackWriter writer, T value, MessagePackSerializerOptions options) => throw Refused();

    public T Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options) => throw Refused();

    private static FosException Refused() => new(FosError.BadRequest,
        $"{typeof(T).Name} cannot cross a process boundary: {typeof(T).FullName} is not a registered message type");
}
