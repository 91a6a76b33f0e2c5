using System.Buffers.Binary;
using Fos.Runtime.Processes;

namespace Fos.Runtime.Tests;

/// <summary>
/// The rest of a command line a warm host reads from its input: every argument comes back exactly,
/// not a byte past the handover is read (what follows is the program's input), and bytes that are
/// not a handover are refused.
/// </summary>
public sealed class WarmHostHandoverTests
{
    [Fact]
    public void Arguments_come_back_exactly_and_the_input_after_them_is_untouched()
    {
        string[] arguments = ["--cpu", "1", "--", "app.dll", "", "two words", "nul\0inside", "ünï", new string('x', 70_000)];
        var input = new MemoryStream([.. WarmHost.Handover(arguments), .. "program input"u8.ToArray()]);
        Assert.Equal(arguments, WarmHost.ReadHandover(input));
        Assert.Equal("program input", new StreamReader(input).ReadToEnd());
    }

    [Fact]
    public void An_empty_input_is_the_end_of_input()
    {
        Assert.Throws<EndOfStreamException>(() => WarmHost.ReadHandover(new MemoryStream()));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(WarmHost.MaxHandoverBytes + 1)]
    public void A_length_out_of_bounds_is_refused(int length)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, length);
        Assert.Throws<InvalidDataException>(() => WarmHost.ReadHandover(new MemoryStream(bytes)));
    }

    [Fact]
    public void A_count_that_does_not_fit_is_refused()
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, 4);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), 1000);
        Assert.Throws<InvalidDataException>(() => WarmHost.ReadHandover(new MemoryStream(bytes)));
    }

    [Fact]
    public void A_truncated_handover_is_the_end_of_input()
    {
        var whole = WarmHost.Handover(["--name", "hello"]);
        Assert.Throws<EndOfStreamException>(() => WarmHost.ReadHandover(new MemoryStream(whole[..^2])));
    }

    [Fact]
    public void Arguments_that_claim_more_bytes_than_the_handover_has_are_refused()
    {
        var bytes = WarmHost.Handover(["abc"]);
        bytes[^4] = 100; // the string's length prefix now runs past the end
        Assert.Throws<InvalidDataException>(() => WarmHost.ReadHandover(new MemoryStream(bytes)));
    }

    [Fact]
    public void Bytes_left_after_the_arguments_or_text_that_is_not_utf8_are_refused()
    {
        var longer = WarmHost.Handover(["abc"]);
        BinaryPrimitives.WriteInt32LittleEndian(longer, longer.Length - 4 + 1);
        Assert.Throws<InvalidDataException>(() => WarmHost.ReadHandover(new MemoryStream([.. longer, 0])));
        var invalid = WarmHost.Handover(["abc"]);
        invalid[^1] = 0xff;
        Assert.Throws<InvalidDataException>(() => WarmHost.ReadHandover(new MemoryStream(invalid)));
    }
}
