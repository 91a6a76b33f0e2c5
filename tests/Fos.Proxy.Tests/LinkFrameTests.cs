using System.Buffers;
using Fos.Kernel;

namespace Fos.Proxy.Tests;

/// <summary>
/// The frames between proxies: each kind reads back as written, and 100,000 random, truncated,
/// oversized and bit-flipped frames fail only as a clear <see cref="FosError.BadRequest"/>, never
/// with any other exception.
/// </summary>
public sealed class LinkFrameTests
{
    private static readonly ArrayBufferWriter<byte> Scratch = new();

    [Fact]
    public void Every_kind_reads_back_as_written()
    {
        var hello = new LinkHello(LinkFrame.Version, 0xfeed, 0xbeef, 42, HasYours: true);
        Assert.Equal(hello, LinkFrame.ReadHello(LinkFrame.Hello(hello)));

        var envelope = new Envelope(EnvelopeKind.Call, new Address(2, 3, 4), new Capability(5, 6), new Address(1, 0, 9), 77, "body");
        var data = LinkFrame.Data(12, envelope, Scratch);
        LinkFrame.SetAck(data, 11);
        Assert.Equal((12UL, 11UL), LinkFrame.ReadDataHeader(data));
        var read = LinkFrame.ReadEnvelope(data, out var bodyError);
        Assert.Null(bodyError);
        Assert.Equal((envelope.Kind, envelope.To, envelope.Capability, envelope.From, envelope.CorrelationId, envelope.Body),
            (read.Kind, read.To, read.Capability, read.From, read.CorrelationId, read.Body));

        var ack = new byte[LinkFrame.ShortBytes];
        foreach (var type in new[] { LinkFrameType.Ack, LinkFrameType.Nack, LinkFrameType.Ping, LinkFrameType.Pong })
        {
            LinkFrame.WriteShort(ack, type, 99);
            Assert.Equal((type, 99UL), (LinkFrame.TypeOf(ack), LinkFrame.ReadShort(ack)));
        }
    }

    [Fact]
    public void A_body_that_is_no_registered_message_is_refused_when_written()
    {
        var envelope = new Envelope(EnvelopeKind.Send, new Address(2, 0, 1), Capability.None, new Address(1, 0, 1), 0, new object());
        Assert.Equal(FosError.BadRequest, Assert.Throws<FosException>(() => LinkFrame.Data(1, envelope, Scratch)).Error);
    }

    [Fact]
    public void A_hundred_thousand_hostile_frames_fail_only_as_bad_requests()
    {
        var random = new Random(20261127);
        var valid = new[]
        {
            LinkFrame.Hello(new LinkHello(LinkFrame.Version, 1, 2, 3, false)),
            LinkFrame.Data(5, new Envelope(EnvelopeKind.Reply, new Address(2, 1, 0), Capability.None, new Address(1, 1, 3), 8, new[] { 1L, 2L, 3L }), Scratch),
            LinkFrame.Data(6, new Envelope(EnvelopeKind.Send, new Address(2, 1, 7), new Capability(1, 1), new Address(1, 1, 3), 0, "text"), Scratch),
        };
        var outcomes = new Dictionary<string, int>();
        for (var i = 0; i < 100_000; i++)
        {
            byte[] frame;
            switch (i % 4)
            {
                case 0: // random bytes of a random length, up to oversized
                    frame = new byte[random.Next(0, i % 100 == 0 ? 70_000 : 200)];
                    random.NextBytes(frame);
                    break;
                case 1: // a valid frame cut short
                    var whole = valid[random.Next(valid.Length)];
                    frame = whole[..random.Next(0, whole.Length)];
                    break;
                case 2: // a valid frame with bits flipped
                    frame = (byte[])valid[random.Next(valid.Length)].Clone();
                    for (var flips = random.Next(1, 4); flips > 0; flips--) frame[random.Next(frame.Length)] ^= (byte)(1 << random.Next(8));
                    break;
                default: // a valid frame with bytes after it
                    var source = valid[random.Next(valid.Length)];
                    frame = [.. source, .. Enumerable.Range(0, random.Next(1, 40)).Select(_ => (byte)random.Next(256))];
                    break;
            }
            var outcome = Read(frame);
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }
        Assert.All(outcomes.Keys, o => Assert.True(o is "read" or "refused" or "body refused", $"a frame ended in {o}"));
        Assert.True(outcomes.GetValueOrDefault("refused") > 10_000);
    }

    /// <summary>Reads a frame the way a proxy does; says how it went.</summary>
    private static string Read(byte[] frame)
    {
        try
        {
            switch (LinkFrame.TypeOf(frame))
            {
                case LinkFrameType.Hello:
                    LinkFrame.ReadHello(frame);
                    break;
                case LinkFrameType.Data:
                    LinkFrame.ReadDataHeader(frame);
                    LinkFrame.ReadEnvelope(frame, out var bodyError);
                    if (bodyError is not null) return bodyError.Error == FosError.BadRequest ? "body refused" : $"body {bodyError.Error}";
                    break;
                default:
                    LinkFrame.ReadShort(frame);
                    break;
            }
            return "read";
        }
        catch (FosException ex) when (ex.Error == FosError.BadRequest)
        {
            return "refused";
        }
        catch (Exception ex)
        {
            return ex.GetType().Name + ": " + ex.Message;
        }
    }
}
