// The application side of the process benchmarks.
//   hello                      prints a line and exits: what `spawn` times, with fos and without.
//   serve NAME call TARGET     registers a mailbox under NAME; each long N sent to it runs N null
//                              calls to the nearest member of TARGET and answers the ticks they took.
//   serve NAME stat PATH       the same with N stats of PATH through Fos.Sys.
//   serve NAME map BYTES       the same with N buffers of BYTES from the memory fleet, each mapped,
//                              a byte written on each of its pages, and freed.
using System.Diagnostics;
using Fos.Kernel;
using Fos.Sys;

switch (args)
{
    case ["hello"]:
        Console.WriteLine("hello from a process");
        return 0;
    case ["serve", var name, "call", var fleet]:
        var target = await FosNames.LookupAsync(fleet);
        var kernel = KernelContext.Current;
        return await Serve(name, () => kernel.Call(target, null));
    case ["serve", var name, "stat", var path]:
        return await Serve(name, () => FosFile.StatAsync(path));
    case ["serve", var name, "map", var size]:
        var bytes = int.Parse(size, System.Globalization.CultureInfo.InvariantCulture);
        return await Serve(name, async () =>
        {
            var buffer = await FosMemory.AllocateAsync(bytes);
            var span = buffer.Memory.Span;
            for (var page = 0; page < span.Length; page += FosMemory.PageSize) span[page] = 1;
            await buffer.FreeAsync();
            return 0;
        });
    default:
        Console.Error.WriteLine("usage: Fos.Bench.Client hello | serve NAME call TARGET | serve NAME stat PATH | serve NAME map BYTES");
        return 2;
}

// Serves chunk requests until killed: each long N runs the operation N times and answers the ticks taken.
// Both kinds of call are awaited as the kernel hands them back, so the two cost what a program pays.
static async Task<int> Serve<T>(string name, Func<ValueTask<T>> operation)
{
    var control = FosNames.OpenMailbox(async message =>
    {
        if (message.Body is not long count) throw new FosException(FosError.BadRequest, "send a count of operations");
        var start = Stopwatch.GetTimestamp();
        for (var i = 0L; i < count; i++) await operation();
        return Stopwatch.GetElapsedTime(start).Ticks;
    });
    await FosNames.RegisterAsync(name, control);
    await new TaskCompletionSource().Task;
    return 0;
}
