using System.Buffers;
using System.Collections.Immutable;
using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Protocols.FileSystem;
using Fos.Protocols.Processes;
using Fos.Protocols.Wire;

namespace Fos.Protocols.Tests;

public class WireRoundTripTests
{
    public static TheoryData<string, SampleKind> Registered()
    {
        var data = new TheoryData<string, SampleKind>();
        foreach (var (_, type) in WireTypes.All)
            foreach (var kind in Enum.GetValues<SampleKind>())
                data.Add(type.FullName!, kind);
        return data;
    }

    private static Type Named(string name) => WireTypes.All.Single(e => e.Type.FullName == name).Type;

    private static object? RoundTrip(object? body) => WireCodec.Read(WireCodec.ToArray(body));

    [Theory]
    [MemberData(nameof(Registered))]
    public void Every_registered_type_comes_back_equal(string typeName, SampleKind kind)
    {
        var sample = Samples.Of(Named(typeName), kind);
        Deep.AssertEqual(sample, RoundTrip(sample));
    }

    [Fact]
    public void A_null_body_is_its_id_alone()
    {
        Assert.Equal(new byte[] { 0, 0 }, WireCodec.ToArray(null));
        Assert.Null(WireCodec.Read(new byte[] { 0, 0 }));
    }

    [Fact]
    public void A_body_starts_with_its_id_big_endian()
    {
        var bytes = WireCodec.ToArray(new FsRead(new FsHandle(1, 2), 3, 4));
        Assert.Equal(new byte[] { 0, 207 }, bytes[..2]);
    }

    [Fact]
    public void Ack_arrives_as_the_one_instance()
    {
        Assert.Same(Ack.Instance, RoundTrip(Ack.Instance));
        Assert.Same(Ack.Instance, RoundTrip(new Ack()));
    }

    [Fact]
    public void Records_with_nullable_members_keep_both_null_and_set()
    {
        var member = new Endpoint(new Address(1, 2, 3), new Capability(4, 5));
        Assert.Equal(new NameLookup("/sys/fs", new CoreId(1, 2), null), RoundTrip(new NameLookup("/sys/fs", new CoreId(1, 2), null)));
        Assert.Equal(new NameLookup("/sys/fs", new CoreId(1, 2), member), RoundTrip(new NameLookup("/sys/fs", new CoreId(1, 2), member)));
        Assert.Equal(new KernelFault(FosError.ServiceError, "ENOENT: x", "ENOENT"), RoundTrip(new KernelFault(FosError.ServiceError, "ENOENT: x", "ENOENT")));
        Assert.Equal(new FsReadDir("/a", null, 0), RoundTrip(new FsReadDir("/a")));
        var info = (ProcInfo)RoundTrip(new ProcInfo(7, "wc", new CoreId(1, 3), ProcState.Running, null, 12, CoreId.Process(1, 2), 4242))!;
        Assert.Null(info.ExitCode);
        Assert.Equal(ProcState.Running, info.State);
    }

    [Fact]
    public void Immutable_arrays_of_endpoints_keep_their_order_and_a_default_one_arrives_empty()
    {
        ImmutableArray<Endpoint> members = [new(new Address(1, 2, 3), new Capability(4, 5)), new(new Address(6, 7, 8), new Capability(9, 10))];
        var record = (NameRecord)RoundTrip(new NameRecord("/sys/fs", 3, members))!;
        Assert.Equal<Endpoint>(members, record.Members);
        var fromDefault = ((NameRecord)RoundTrip(new NameRecord("/x", 1, default))!).Members;
        Assert.False(fromDefault.IsDefault);
        Assert.Empty(fromDefault);
    }

    [Fact]
    public void A_forwarded_handle_request_carries_its_request_as_a_registered_body()
    {
        var op = new ShardHandleOp(64, new Address(1, 2, 0), new FsWrite(new FsHandle(64, 9), 10, [1, 2, 3]));
        var back = (ShardHandleOp)RoundTrip(op)!;
        Assert.Equal(op.Inode, back.Inode);
        Assert.Equal(op.Client, back.Client);
        Deep.AssertEqual(op.Request, back.Request);
    }

    [Fact]
    public void A_computed_member_that_travels_does_not_stop_a_record_from_coming_back()
    {
        // ShardLockRenames has Inode => 0 beside its constructor's members.
        Assert.Equal(new ShardLockRenames(5, 6), RoundTrip(new ShardLockRenames(5, 6)));
    }

    [Fact]
    public void A_member_this_build_does_not_know_is_skipped()
    {
        // A peer one version newer may send a record with a member added: members travel by name.
        var output = new ArrayBufferWriter<byte>();
        output.Write<byte>([0, 204]); // FsStat
        var writer = new MessagePack.MessagePackWriter(output);
        writer.WriteMapHeader(2);
        writer.Write("Added");
        writer.Write(7);
        writer.Write("Path");
        writer.Write("/a");
        writer.Flush();
        Assert.Equal(new FsStat("/a"), WireCodec.Read(output.WrittenMemory));
    }

    [Fact]
    public void Writes_append_to_what_the_buffer_already_holds()
    {
        var output = new ArrayBufferWriter<byte>();
        WireCodec.Write(output, 5L);
        var first = output.WrittenCount;
        WireCodec.Write(output, "x");
        Assert.Equal(5L, WireCodec.Read(output.WrittenMemory[..first]));
        Assert.Equal("x", WireCodec.Read(output.WrittenMemory[first..]));
    }

    [Fact]
    public void A_body_in_pieces_reads_the_same_as_one_in_a_piece()
    {
        var bytes = WireCodec.ToArray(new FsWrite(new FsHandle(1, 2), 3, new byte[100]));
        var first = new Segment(bytes.AsMemory(0, 1));
        var last = first.Append(bytes.AsMemory(1, 40)).Append(bytes.AsMemory(41));
        var body = WireCodec.Read(new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length));
        Deep.AssertEqual(WireCodec.Read(bytes), body);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
