using System.Buffers;
using Fos.Kernel;
using Fos.Protocols.FileSystem;
using Fos.Protocols.Processes;
using Fos.Protocols.Wire;
using MessagePack;

namespace Fos.Protocols.Tests;

/// <summary>Bytes from a hostile or broken sender fail as a bad request, and nothing else.</summary>
public class WireRefusalTests
{
    private sealed record NotAMessage(string Text);

    private static FosException Refused(byte[] bytes)
    {
        var error = Assert.Throws<FosException>(() => WireCodec.Read(bytes));
        Assert.Equal(FosError.BadRequest, error.Error);
        return error;
    }

    /// <summary>Either a body comes out or a bad request does: any other exception is a bug.</summary>
    private static void ReadsOrRefuses(byte[] bytes)
    {
        try
        {
            WireCodec.Read(bytes);
        }
        catch (FosException ex) when (ex.Error == FosError.BadRequest)
        {
        }
        catch (Exception ex)
        {
            Assert.Fail($"{Convert.ToHexString(bytes)} threw {ex.GetType().Name}: {ex.Message}");
        }
    }

    private static byte[] Body(ushort id, Action<MessagePackWriter> payload) => Body(id, (ref MessagePackWriter w) => payload(w));

    private delegate void Payload(ref MessagePackWriter writer);

    private static byte[] Body(ushort id, Payload payload)
    {
        var output = new ArrayBufferWriter<byte>();
        output.Write([(byte)(id >> 8), (byte)id]);
        var writer = new MessagePackWriter(output);
        payload(ref writer);
        writer.Flush();
        return output.WrittenSpan.ToArray();
    }

    private static ushort Id(Type type) => WireTypes.TryGetId(type, out var id) ? id : throw new InvalidOperationException();

    [Theory]
    [InlineData(typeof(object))]
    [InlineData(typeof(NotAMessage))]
    [InlineData(typeof(List<long>))]
    [InlineData(typeof(int[]))]
    [InlineData(typeof(Guid))]
    public void An_unregistered_type_is_refused_on_write_by_name(Type type)
    {
        var body = type == typeof(NotAMessage) ? new NotAMessage("x") : Activator.CreateInstance(type, type == typeof(int[]) ? [1] : [])!;
        var error = Assert.Throws<FosException>(() => WireCodec.ToArray(body));
        Assert.Equal(FosError.BadRequest, error.Error);
        Assert.Equal($"{type.Name} cannot cross a process boundary: {type.FullName} is not a registered message type", error.Message);
    }

    [Fact]
    public void An_unregistered_request_inside_a_forwarded_handle_request_is_refused_on_write()
    {
        var error = Assert.Throws<FosException>(() => WireCodec.ToArray(new ShardHandleOp(1, default, new NotAMessage("x"))));
        Assert.Contains("cannot cross a process boundary", error.Message);
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0 })]
    [InlineData(new byte[] { 0, 0, 0xc0 })]
    [InlineData(new byte[] { 0, 6, 0xc0 })]
    [InlineData(new byte[] { 0x27, 0x0f, 0xc0 })]
    [InlineData(new byte[] { 0xff, 0xff })]
    public void Unknown_ids_short_input_and_bytes_after_a_null_are_refused(byte[] bytes) => Refused(bytes);

    [Fact]
    public void Every_prefix_and_every_body_with_a_byte_more_is_refused()
    {
        foreach (var (_, type) in WireTypes.All)
        {
            var bytes = WireCodec.ToArray(Samples.Of(type, SampleKind.Full));
            for (var length = 0; length < bytes.Length; length++) Refused(bytes[..length]);
            Assert.Contains("left over", Refused([.. bytes, 0xc0]).Message);
        }
    }

    [Fact]
    public void Random_bytes_are_read_or_refused()
    {
        var random = new Random(20240601);
        var ids = WireTypes.All.Select(e => e.Id).ToArray();
        for (var i = 0; i < 5000; i++)
        {
            var bytes = new byte[random.Next(0, 48)];
            random.NextBytes(bytes);
            if (bytes.Length >= 2 && i % 4 != 0)
            {
                var id = ids[random.Next(ids.Length)]; // past the id, into the payload
                (bytes[0], bytes[1]) = ((byte)(id >> 8), (byte)id);
            }
            ReadsOrRefuses(bytes);
        }
    }

    [Fact]
    public void Valid_bodies_with_bytes_changed_are_read_or_refused()
    {
        var random = new Random(7);
        var valid = WireTypes.All.SelectMany(e => Enum.GetValues<SampleKind>().Select(k => WireCodec.ToArray(Samples.Of(e.Type, k)))).ToArray();
        for (var i = 0; i < 5000; i++)
        {
            var bytes = valid[random.Next(valid.Length)].ToArray();
            for (var changes = random.Next(1, 4); changes > 0; changes--)
                bytes[random.Next(2, Math.Max(3, bytes.Length))  % bytes.Length] = (byte)random.Next(256);
            ReadsOrRefuses(bytes);
        }
    }

    [Fact]
    public void A_record_with_a_member_missing_or_nil_is_refused()
    {
        Assert.Contains("FsStat.Path is missing", Refused(Body(Id(typeof(FsStat)), (ref MessagePackWriter w) => w.WriteMapHeader(0))).Message);
        Assert.Contains("FsWrite.Data is missing", Refused(Body(Id(typeof(FsWrite)), (ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(3);
            w.Write("Handle");
            w.WriteMapHeader(2);
            w.Write("Inode");
            w.Write(1);
            w.Write("Id");
            w.Write(2);
            w.Write("Offset");
            w.Write(1);
            w.Write("Data");
            w.WriteNil();
        })).Message);
        Refused(Body(Id(typeof(FsStat)), (ref MessagePackWriter w) => w.WriteNil()));
    }

    [Fact]
    public void An_array_declared_without_nulls_that_holds_one_is_refused()
    {
        var error = Refused(Body(Id(typeof(FsDirPage)), (ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(2);
            w.Write("Entries");
            w.WriteArrayHeader(1);
            w.WriteNil();
            w.Write("More");
            w.Write(false);
        }));
        Assert.Contains("FsDirPage.Entries holds a null", error.Message);
    }

    [Fact]
    public void An_enum_value_the_enum_does_not_have_is_refused()
    {
        var bytes = WireCodec.ToArray(new ProcInfo(1, "x", new CoreId(1, 1), ProcState.Killed, 0, 0, CoreId.Process(1, 0), 0));
        var state = Array.IndexOf(bytes, (byte)ProcState.Killed, Array.IndexOf(bytes, (byte)'S') + 5);
        bytes[state] = 99;
        Assert.Contains("ProcInfo.State is 99", Refused(bytes).Message);
    }

    [Fact]
    public void Values_of_the_wrong_kind_or_out_of_range_are_refused()
    {
        Refused(Body(Id(typeof(long)), (ref MessagePackWriter w) => w.Write("seven")));
        Refused(Body(Id(typeof(CoreId)), (ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(70_000); // a machine number is 16 bits
            w.Write(1);
        }));
        Assert.Contains("Endpoint is 5 values", Refused(Body(Id(typeof(Endpoint)), (ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(1);
            w.Write(2);
        })).Message);
        Refused(Body(Id(typeof(Ack)), (ref MessagePackWriter w) => w.Write(1)));
    }

    [Fact]
    public void Collections_longer_than_the_input_are_refused_without_being_made()
    {
        Refused(Body(Id(typeof(long[])), (ref MessagePackWriter w) => w.WriteArrayHeader(uint.MaxValue)));
        Refused([0, (byte)Id(typeof(byte[])), 0xc6, 0x7f, 0xff, 0xff, 0xff, 1, 2]); // bin 32 of 2 GiB
        Refused([0, (byte)Id(typeof(string)), 0xdb, 0x7f, 0xff, 0xff, 0xff, 0x41]); // str 32 of 2 GiB
        Refused(Body(Id(typeof(Fos.Kernel.Naming.NameListing)), (ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(1);
            w.Write("Names");
            w.WriteArrayHeader(int.MaxValue);
        }));
    }

    [Fact]
    public void A_request_inside_a_forwarded_handle_request_is_read_through_the_registry()
    {
        void Op(ushort id, Payload request) => Refused(Body(Id(typeof(ShardHandleOp)), (ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(4);
            w.Write(1L);
            w.WriteArrayHeader(3);
            w.Write(1);
            w.Write(2);
            w.Write(3);
            w.Write(id);
            request(ref w);
        }));
        Op(9999, (ref MessagePackWriter w) => w.WriteNil());
        Op(WireTypes.Null, (ref MessagePackWriter w) => w.WriteNil());
        Op(Id(typeof(FsSync)), (ref MessagePackWriter w) => w.WriteNil());
    }

    [Fact]
    public void Bodies_nested_deeper_than_the_limit_are_refused()
    {
        object body = new FsSync(new FsHandle(1, 2));
        for (var i = 0; i < 100; i++) body = new ShardHandleOp(i, default, body);
        Assert.Contains("depth", Refused(WireCodec.ToArray(body)).Message, StringComparison.OrdinalIgnoreCase);
    }
}
