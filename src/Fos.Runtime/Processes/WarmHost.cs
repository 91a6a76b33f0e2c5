using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;

namespace Fos.Runtime.Processes;

/// <summary>
/// An application host started before it is needed, for programs from one directory: inside its
/// walls (which show it that directory and nothing of the host's otherwise), with the runtime and
/// fos's assemblies loaded and the wire formatters built, holding a channel not yet assigned to
/// any process. When a program from that directory is run, the machine assigns the channel and
/// writes the rest of the command line as the first bytes of the host's standard input; the host
/// reads exactly those and runs the program as a cold-started one would. .NET's start-up, about
/// half of a cold start, is then paid while nobody waits.
/// </summary>
public sealed class WarmHost : IDisposable
{
    /// <summary>What a warm host writes on its standard output once it is warm, before anything of its program's.</summary>
    public static ReadOnlySpan<byte> ReadyMarker => "fos: host warm\n"u8;

    /// <summary>The longest rest of a command line handed to a warm host; a longer one starts a cold host.</summary>
    public const int MaxHandoverBytes = 1 << 20;

    internal WarmHost(string directory, ProcessChannel channel, EventFd wake, FdChannel fds, Process process)
    {
        Directory = directory;
        Channel = channel;
        Wake = wake;
        Fds = fds;
        Process = process;
        Ready = ReadMarker(process.StandardOutput.BaseStream);
    }

    /// <summary>The programs' directory its walls show it.</summary>
    public string Directory { get; }

    internal ProcessChannel Channel { get; }

    internal EventFd Wake { get; }

    internal FdChannel Fds { get; }

    internal Process Process { get; }

    /// <summary>Completes with true once the host is warm, false if it ended first.</summary>
    public Task<bool> Ready { get; }

    public int HostPid => Process.Id;

    internal bool Alive
    {
        get
        {
            try
            {
                return !Process.HasExited;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }
    }

    private static async Task<bool> ReadMarker(Stream output)
    {
        var marker = new byte[ReadyMarker.Length];
        try
        {
            await output.ReadExactlyAsync(marker);
            return marker.AsSpan().SequenceEqual(ReadyMarker);
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>The rest of a command line as the host reads it from its input: a length, then each argument with its own.</summary>
    public static byte[] Handover(IReadOnlyList<string> arguments)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(0); // the length, filled in below
            writer.Write(arguments.Count);
            foreach (var argument in arguments) writer.Write(argument);
        }
        var bytes = buffer.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(bytes, bytes.Length - sizeof(int));
        return bytes;
    }

    /// <summary>The host's side: reads exactly one handover from <paramref name="input"/>, and not a byte of what follows it (the program's input).</summary>
    /// <exception cref="InvalidDataException">The bytes are not a handover.</exception>
    public static string[] ReadHandover(Stream input)
    {
        var length = new byte[sizeof(int)];
        input.ReadExactly(length);
        var size = BinaryPrimitives.ReadInt32LittleEndian(length);
        if (size is < sizeof(int) or > MaxHandoverBytes) throw new InvalidDataException($"a handover of {size} bytes");
        var body = new byte[size];
        input.ReadExactly(body);
        using var reader = new BinaryReader(new MemoryStream(body), new UTF8Encoding(false, throwOnInvalidBytes: true));
        try
        {
            var count = reader.ReadInt32();
            if (count < 0 || count > size) throw new InvalidDataException($"a handover of {count} arguments in {size} bytes");
            var arguments = new string[count];
            for (var i = 0; i < count; i++) arguments[i] = reader.ReadString();
            if (reader.BaseStream.Position != size) throw new InvalidDataException($"a handover with {size - reader.BaseStream.Position} bytes after its arguments");
            return arguments;
        }
        catch (Exception ex) when (ex is EndOfStreamException or FormatException or DecoderFallbackException)
        {
            throw new InvalidDataException($"a handover whose arguments do not fit its {size} bytes", ex);
        }
    }

    /// <summary>Ends the host (it was never given a program) and lets go of what it held.</summary>
    public void Dispose()
    {
        Sandbox.End(Process);
        Process.Dispose();
        Channel.Dispose();
        Wake.Dispose();
        Fds.Dispose();
    }
}
