using System.Text;

namespace Fos.Kernel.Processes;

/// <summary>
/// A standard stream of a program the machine runs itself (inside the machine, or in the
/// simulator): each write goes on at once, as UTF-8 bytes, to whoever streams the output.
/// </summary>
public sealed class ChunkWriter(Action<byte[]> written) : TextWriter
{
    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value) => Write(value.ToString());

    public override void Write(string? value)
    {
        if (!string.IsNullOrEmpty(value)) written(Encoding.UTF8.GetBytes(value));
    }

    public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));
}
