using System.Text;
using Fos.Kernel.Storage;

namespace Fos.Tests.Shared;

/// <summary>
/// The parts of the <see cref="IStore"/> contract any engine can be checked on without a crash: each
/// check opens the store under test with <c>open</c>, closes it cleanly and opens it again where the
/// contract speaks of a reopen. The engines' own tests run every check, and add the crash parts
/// their engine can stage (a killed child process, a crashed simulated core).
/// </summary>
internal static class StoreContract
{
    public static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    public static string S(byte[]? b) => b is null ? "<none>" : Encoding.UTF8.GetString(b);

    public static List<string> Keys(IStore store, string prefix = "") => [.. store.Scan(B(prefix)).Select(e => S(e.Key))];

    /// <summary>(a) and (d): a batch is visible at once, and a clean close keeps it unsynced.</summary>
    public static void A_clean_close_keeps_every_batch_written_without_a_sync(Func<IStore> open)
    {
        using (var store = open())
        {
            store.Write(new StoreBatch().Put(B("k/1"), B("one")).Put(B("k/2"), B("two")));
            Assert.Equal("one", S(store.Get(B("k/1"))));
            store.Write(new StoreBatch().Delete(B("k/1")).Put(B("k/3"), B("three")));
            Assert.Null(store.Get(B("k/1")));
        }
        using (var store = open())
        {
            Assert.Equal(["k/2", "k/3"], Keys(store, "k/"));
            store.Write(new StoreBatch().Put(B("k/4"), B("four")));
        }
        using (var store = open()) Assert.Equal(["k/2", "k/3", "k/4"], Keys(store, "k/"));
    }

    /// <summary>A batch's edits apply in order: a put after a range delete over its key survives it.</summary>
    public static void Range_deletes_apply_in_order_with_the_rest_of_the_batch(Func<IStore> open)
    {
        using (var store = open())
        {
            var fill = new StoreBatch();
            foreach (var k in new[] { "r/a", "r/b", "r/c", "r/d", "r/e", "s/a" }) fill.Put(B(k), B("v"));
            store.Write(fill);
            store.Write(new StoreBatch()
                .Put(B("r/b"), B("before"))          // covered by the range delete that follows
                .DeleteRange(B("r/b"), B("r/d"))     // r/b and r/c; r/d is the end, so it stays
                .Put(B("r/c"), B("after"))           // after the range delete: survives
                .DeleteRange(B("r/e"), B("r/e")));   // an empty range removes nothing
            Assert.Equal(["r/a", "r/c", "r/d", "r/e"], Keys(store, "r/"));
            Assert.Equal("after", S(store.Get(B("r/c"))));
            Assert.Null(store.Get(B("r/b")));
        }
        using (var store = open())
        {
            Assert.Equal(["r/a", "r/c", "r/d", "r/e"], Keys(store, "r/"));
            store.Write(new StoreBatch().DeleteRange([], B("s/"))); // from the first key
            Assert.Equal(["s/a"], Keys(store));
        }
        using (var store = open()) Assert.Equal(["s/a"], Keys(store));
    }

    /// <summary>Scans are in byte order (0x00 first, 0xFF last), stay within the prefix, start at <c>from</c>, and stop at the limit.</summary>
    public static void Scans_keep_byte_order_prefix_start_and_limit(Func<IStore> open)
    {
        using var store = open();
        byte[][] keys = [[(byte)'p', 0xFF], [(byte)'p', 0x00], [(byte)'p'], [(byte)'p', 0x7F, 1], [(byte)'o', 0xFF], [(byte)'q']];
        var batch = new StoreBatch();
        foreach (var key in keys) batch.Put(key, key);
        store.Write(batch);

        string Hex(IEnumerable<KeyValuePair<byte[], byte[]>> entries) => string.Join(" ", entries.Select(e => Convert.ToHexString(e.Key)));
        Assert.Equal("70 7000 707F01 70FF", Hex(store.Scan(B("p"))));
        Assert.Equal("6FFF 70 7000 707F01 70FF 71", Hex(store.Scan([])));
        Assert.Equal("707F01 70FF", Hex(store.Scan(B("p"), from: [(byte)'p', 0x01])));
        Assert.Equal("70 7000", Hex(store.Scan(B("p"), from: B("a"), limit: 2))); // a start before the prefix starts at the prefix
        Assert.Equal("", Hex(store.Scan(B("p"), from: B("r"))));                  // past the prefix: nothing
        Assert.Equal("", Hex(store.Scan(B("p"), limit: 0)));
        Assert.Equal("", Hex(store.Scan(B("p"), limit: -1)));
        Assert.Equal("", Hex(store.Scan(B("zz"))));
        Assert.All(store.Scan([]), e => Assert.Equal(e.Key, e.Value));
    }

    /// <summary>Values of a few MB go in and come back whole, also after a reopen.</summary>
    public static void Large_values_round_trip(Func<IStore> open)
    {
        var values = Enumerable.Range(0, 3).Select(i =>
        {
            var value = new byte[(4 << 20) + i];
            new Random(i).NextBytes(value);
            return value;
        }).ToList();
        using (var store = open())
        {
            for (var i = 0; i < values.Count; i++) store.Write(new StoreBatch().Put(B($"big/{i}"), values[i]));
            Assert.Equal(values[1], store.Get(B("big/1")));
        }
        using (var store = open())
        {
            for (var i = 0; i < values.Count; i++) Assert.Equal(values[i], store.Get(B($"big/{i}")));
            Assert.Equal(values.Select(v => v.Length), store.Scan(B("big/")).Select(e => e.Value.Length));
        }
    }

    /// <summary>An empty value is a value (not a delete); an empty key is refused by the batch and found by no read.</summary>
    public static void Empty_values_are_kept_and_empty_keys_refused(Func<IStore> open)
    {
        using (var store = open())
        {
            store.Write(new StoreBatch().Put(B("e/empty"), []).Delete(B("e/never-there")));
            Assert.Equal(0, store.Get(B("e/empty"))?.Length);
            Assert.Throws<ArgumentException>(() => new StoreBatch().Put([], B("v")));
            Assert.Throws<ArgumentException>(() => new StoreBatch().Delete([]));
            Assert.Null(store.Get([]));
        }
        using (var store = open())
        {
            Assert.Equal(0, store.Get(B("e/empty"))?.Length);
            Assert.Equal(["e/empty"], Keys(store, "e/"));
        }
    }

    /// <summary>Extents: sparse, grown and cut in place, removed, listed, and kept by a clean close without a sync.</summary>
    public static void Extents_read_back_what_was_written_holes_as_zeros(Func<IStore> open)
    {
        using (var store = open())
        {
            var extents = store.Extents;
            Assert.Equal(0, extents.Length(5));
            Assert.Equal(0, extents.Read(5, 0, new byte[8])); // never written: empty
            extents.Write(5, 0, B("hello"));
            extents.Write(5, 10, B("world")); // bytes 5..9 are a hole
            Assert.Equal(15, extents.Length(5));
            var all = new byte[32];
            Assert.Equal(15, extents.Read(5, 0, all)); // short at the end
            Assert.Equal("hello\0\0\0\0\0world", S(all[..15]));
            Assert.Equal(3, extents.Read(5, 12, all.AsSpan(0, 3)));
            Assert.Equal("rld", S(all[..3]));
            Assert.Equal(0, extents.Read(5, 100, all)); // past the end
            extents.Write(5, 2, B("LL")); // an overwrite in place
            extents.SetLength(5, 7); // cut
            extents.SetLength(5, 9); // grown again: with zeros, not with what was cut
            Array.Clear(all);
            Assert.Equal(9, extents.Read(5, 0, all));
            Assert.Equal("heLLo\0\0\0\0", S(all[..9]));
            extents.Write(1L << 40, 1L << 20, B("far")); // a big id and a big offset cost nothing in between
            extents.Write(2, 0, new byte[3 << 20]); // more than one read's worth
            extents.SetLength(3, 0); // an extent that never was stays absent
            Assert.Equal([2L, 5L, 1L << 40], extents.List());
            extents.Delete(2);
            extents.Delete(4); // none: nothing happens
            Assert.Equal(0, extents.Length(2));
            Assert.Equal([5L, 1L << 40], extents.List());
        }
        using (var store = open())
        {
            var extents = store.Extents;
            Assert.Equal([5L, 1L << 40], extents.List()); // a clean close kept them unsynced
            Assert.Equal(9, extents.Length(5));
            Assert.Equal((1L << 20) + 3, extents.Length(1L << 40));
            var far = new byte[3];
            Assert.Equal(3, extents.Read(1L << 40, 1L << 20, far));
            Assert.Equal("far", S(far));
            extents.Write(5, 0, B("H"));
            Assert.Throws<ArgumentOutOfRangeException>(() => extents.Write(-1, 0, B("x")));
            Assert.Throws<ArgumentOutOfRangeException>(() => extents.Write(1, -1, B("x")));
            Assert.Throws<ArgumentOutOfRangeException>(() => extents.Read(-1, 0, new byte[1]));
            Assert.Throws<ArgumentOutOfRangeException>(() => extents.Read(1, -1, new byte[1]));
            Assert.Throws<ArgumentOutOfRangeException>(() => extents.Length(-1));
            Assert.Throws<ArgumentOutOfRangeException>(() => extents.SetLength(1, -1));
            Assert.Throws<ArgumentOutOfRangeException>(() => extents.Delete(-1));
            Assert.Throws<ArgumentOutOfRangeException>(() => extents.Flush(-1));
            extents.Flush(5); // the one written just above
            extents.Flush(4); // none: nothing to do
            Assert.Equal([5L, 1L << 40], extents.List()); // bad calls changed nothing
        }
        var closed = open();
        closed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => closed.Extents.Write(5, 0, B("x")));
        Assert.Throws<ObjectDisposedException>(() => closed.Extents.Read(5, 0, new byte[1]));
        using (var store = open())
        {
            var first = new byte[1];
            store.Extents.Read(5, 0, first);
            Assert.Equal("H", S(first));
        }
    }

    /// <summary>Malformed input is refused with an argument exception, and a closed store with ObjectDisposedException.</summary>
    public static async Task Bad_input_and_a_closed_store_fail_cleanly(Func<IStore> open)
    {
        Assert.Throws<ArgumentNullException>(() => new StoreBatch().Put(null!, B("v")));
        Assert.Throws<ArgumentNullException>(() => new StoreBatch().Put(B("k"), null!));
        Assert.Throws<ArgumentNullException>(() => new StoreBatch().Delete(null!));
        Assert.Throws<ArgumentNullException>(() => new StoreBatch().DeleteRange(null!, B("z")));
        Assert.Throws<ArgumentNullException>(() => new StoreBatch().DeleteRange(B("a"), null!));
        Assert.Throws<ArgumentException>(() => new StoreBatch().DeleteRange(B("b"), B("a")));

        var store = open();
        Assert.Throws<ArgumentNullException>(() => store.Write(null!));
        store.Write(new StoreBatch()); // an empty batch is fine
        store.Write(new StoreBatch().Put(B("x"), B("1")));
        store.Dispose();
        store.Dispose(); // twice is fine
        Assert.Throws<ObjectDisposedException>(() => store.Get(B("x")));
        Assert.Throws<ObjectDisposedException>(() => store.Write(new StoreBatch().Put(B("y"), B("2"))));
        Assert.Throws<ObjectDisposedException>(() => store.Scan(B("")));
        await Assert.ThrowsAsync<ObjectDisposedException>(store.Sync);

        using var again = open();
        Assert.Equal("1", S(again.Get(B("x"))));
        Assert.Null(again.Get(B("y")));
    }
}
