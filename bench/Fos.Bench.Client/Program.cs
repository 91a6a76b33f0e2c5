// The application side of the process benchmarks.
//   hello                  prints a line and exits: what `spawn` times, with fos and without.
//   serve NAME TARGET      registers a mailbox under NAME; each long N sent to it runs N null
//                          calls to the nearest member of TARGET and answers the ticks they took.
using System.Diagnostics;
using Fos.Kernel;
using Fos.Sys;

switch (args.FirstOrDefault())
{
    case "hello":
        Console.WriteLine("hello from a process");
        return 0;
    case "serve" when args.Length == 3:
        var target = await FosNames.LookupAsync(args[2]);
        var kernel = KernelContext.Current;
        var control = FosNames.OpenMailbox(async message => message.Body is long count ? await Calls(kernel, target, count)
            : throw new FosException(FosError.BadRequest, "send a count of calls"));
        await FosNames.RegisterAsync(args[1], control);
        await new TaskCompletionSource().Task; // serves until killed
        return 0;
    default:
        Console.Error.WriteLine("usage: Fos.Bench.Client hello | serve NAME TARGET");
        return 2;
}

static async ValueTask<object?> Calls(IKernel kernel, Endpoint target, long count)
{
    var start = Stopwatch.GetTimestamp();
    for (var i = 0L; i < count; i++) await kernel.Call(target, null);
    return Stopwatch.GetElapsedTime(start).Ticks;
}
