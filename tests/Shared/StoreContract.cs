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
