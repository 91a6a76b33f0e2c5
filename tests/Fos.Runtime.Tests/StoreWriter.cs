using Fos.Kernel.Storage;
using Fos.Runtime.Storage;
using Fos.Tests.Shared;

namespace Fos.Runtime.Tests;

/// <summary>
/// A child process for the crash tests: opens a store, writes and syncs batch 0, then writes batch
/// after batch (each two keys and a "last" marker) and reports each one on stdout once its write
/// returned, until it is killed. Before each batch it writes the batch's number into an extent.
/// </summary>
internal static class StoreWriter
{
    public const string Command = "store-writer";
    public const int MaxBatches = 1_000_000;
    public const long Extent = 7;

    public static string BatchKey(int batch, char part) => $"b/{batch:D8}/{part}";

    public static int Run(string engine, string data)
    {
        using var stores = new DiskStores(data, Enum.Parse<StoreEngine>(engine));
        using var store = stores.Open("crash");
        store.Write(new StoreBatch().Put(StoreContract.B("synced"), StoreContract.B("yes")));
        store.Sync().GetAwaiter().GetResult();
        Console.Out.WriteLine("synced");
        for (var i = 1; i <= MaxBatches; i++)
        {
            var value = StoreContract.B(i.ToString());
            store.Extents.Write(Extent, (i - 1) * 4L, BitConverter.GetBytes(i));
            store.Write(new StoreBatch()
                .Put(StoreContract.B(BatchKey(i, 'x')), value)
                .Put(StoreContract.B(BatchKey(i, 'y')), value)
                .Put(StoreContract.B("last"), value));
            Console.Out.WriteLine($"wrote {i}");
            Console.Out.Flush();
        }
        return 0;
    }
}
