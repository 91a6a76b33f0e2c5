// hostile MODE [ARGS]: one thing an attacker or a careless program does, for the tests of
// application processes. Each mode says on stdout what happened, one line, so the tests can
// check that the machine contained, refused or killed it.
using System.Net.Sockets;
using System.Reflection;
using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Protocols.FileSystem;
using Fos.Protocols.Layout;
using Fos.Protocols.Memory;
using Fos.Sys;

var mode = args.Length > 0 ? args[0] : "";
switch (mode)
{
    case "exit":
        Environment.Exit(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture));
        return 0;
    case "failfast":
        Environment.FailFast("hostile failed fast");
        return 0;
    case "pool-throw":
        ThreadPool.QueueUserWorkItem(_ => throw new InvalidOperationException("thrown on a pool thread"));
        await Task.Delay(Timeout.Infinite);
        return 0;
    case "stack":
        return Recurse(1);
    case "allocate":
        var hoard = new List<byte[]>();
        while (true)
        {
            var block = new byte[16 << 20];
            Array.Fill(block, (byte)1);
            hoard.Add(block);
        }
    case "native-allocate":
        // Memory the .NET heap does not see: only the address-space limit stops it.
        while (true)
        {
            var block = System.Runtime.InteropServices.Marshal.AllocHGlobal(64 << 20);
            unsafe
            {
                new Span<byte>((void*)block, 64 << 20).Fill(1);
            }
        }
    case "spin":
        Console.WriteLine("spinning");
        while (true) { }
    case "segfault":
        unsafe
        {
            *(int*)8 = 1;
        }
        return 0;
    case "write-host":
        try
        {
            File.WriteAllText(args[1], "written by an application");
            Console.WriteLine("wrote the host file");
            return 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.WriteLine($"refused: {ex.GetType().Name}");
            return 3;
        }
    case "socket":
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture));
            Console.WriteLine("connected to the host");
            return 0;
        }
        catch (SocketException ex)
        {
            Console.WriteLine($"refused: {ex.SocketErrorCode}");
            return 3;
        }
    case "register-sys":
        return await Refused(() => FosNames.RegisterAsync(WellKnownNames.FileSystem, FosNames.OpenMailbox(_ => ValueTask.FromResult<object?>(null))));
    case "register-user":
        await FosNames.RegisterAsync("/user/hostile", FosNames.OpenMailbox(_ => ValueTask.FromResult<object?>("hello")));
        Console.WriteLine("registered /user/hostile");
        await Task.Delay(Timeout.Infinite);
        return 0;
    case "register-many":
        // More names than a process may hold: the name server stops it at its limit.
        var mailbox = FosNames.OpenMailbox(_ => ValueTask.FromResult<object?>(null));
        var (registered, limited) = (0, 0);
        for (var i = 0; i < int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture); i++)
        {
            try
            {
                await FosNames.RegisterAsync($"/user/many/{i}", mailbox);
                registered++;
            }
            catch (FosException ex) when (ex.Code == "ENOSPC")
            {
                limited++;
            }
        }
        Console.WriteLine($"registered {registered}, refused {limited}");
        return 0;
    case "withdraw":
        // Takes a core's members out of every name: only the system may.
        return await Refused(() => FosNames.CallAsync<Ack>(WellKnownNames.NameService, new NameWithdrawCore(CoreId.Parse(args[1]))));
    case "stop":
        // Stops the name server by its address, with a made-up capability.
        var names = await FosNames.LookupAsync(WellKnownNames.NameService);
        return await Refused(() => KernelContext.Current.Stop(new Endpoint(names.Address, new Capability(1, 2))));
    case "forge":
        // Bypasses its own kernel: an envelope that claims to come from the name server's core.
        var target = await FosNames.LookupAsync(WellKnownNames.NameService);
        var kernel = (CoreKernel)KernelContext.Current;
        var host = (ICoreHost)typeof(CoreKernel).GetField("host", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(kernel)!;
        var mine = FosNames.OpenMailbox(_ => ValueTask.FromResult<object?>(null));
        host.Transmit(new Envelope(EnvelopeKind.Send, target.Address, target.Capability, new Address(target.Address.Machine, 0, 0), 0,
            new NameRegister(WellKnownNames.FileSystem, mine)));
        var members = await FosNames.LookupAllAsync(WellKnownNames.FileSystem);
        Console.WriteLine(members.Members.Contains(mine) ? "forged a registration" : "forgery ignored");
        return 0;
    case "admin":
        // Every service's configuration and fleet messages, sent to its public mailbox.
        var attempts = new (string Name, object Message)[]
        {
            (WellKnownNames.FileSystem, new FsConfigure(0, [], [], 1)),
            (WellKnownNames.FileSystem, new FsCloseAllOf(new CoreId(1, 0))),
            (WellKnownNames.Memory, new MemConfigure(0, [], 0, 1 << 20)),
            (WellKnownNames.Memory, new MemReleaseAll(new CoreId(1, 0))),
            (WellKnownNames.Memory, new MemHandOver(0)),
            (WellKnownNames.Layout, new LayoutConfigure([], [])),
            (WellKnownNames.Layout, new LayoutRelease(new CoreId(1, 1))),
            (WellKnownNames.Layout, new LayoutPlace()),
            (WellKnownNames.NameService, new NameWithdrawCore(new CoreId(1, 0))),
            (WellKnownNames.NameService, new NameWithdrawMachine(1)),
        };
        var allowed = 0;
        foreach (var (name, message) in attempts)
        {
            try
            {
                await FosNames.CallAsync<object>(name, message);
                allowed++;
                Console.WriteLine($"allowed: {message.GetType().Name} to {name}");
            }
            catch (FosException)
            {
            }
        }
        Console.WriteLine($"refused {attempts.Length - allowed} of {attempts.Length}");
        return allowed == 0 ? 3 : 0;
    case "corrupt-ring":
        // Writes a frame that is no envelope straight into its ring to core 0, then calls core 0.
        var garbage = new byte[64];
        Array.Fill(garbage, (byte)0xEE);
        OwnRings()[0].TryWrite(garbage);
        await FosNames.ListAsync("/");
        Console.WriteLine("the machine took the garbage");
        return 0;
    case "garbage-body":
        // A well-formed call to the name server whose body is no registered message: refused, and it goes on.
        var nameServer = await FosNames.LookupAsync(WellKnownNames.NameService);
        var frame = new byte[48 + 6];
        frame[0] = (byte)EnvelopeKind.Send;
        BitConverter.TryWriteBytes(frame.AsSpan(8), nameServer.Address.Machine);
        BitConverter.TryWriteBytes(frame.AsSpan(10), nameServer.Address.Core);
        BitConverter.TryWriteBytes(frame.AsSpan(12), nameServer.Address.Mailbox);
        BitConverter.TryWriteBytes(frame.AsSpan(24), nameServer.Capability.High);
        BitConverter.TryWriteBytes(frame.AsSpan(32), nameServer.Capability.Low);
        frame[48] = 0xFF; // a type id no build has given out
        frame[49] = 0xFE;
        OwnRings()[0].TryWrite(frame);
        var after = await FosNames.ListAsync("/sys/");
        Console.WriteLine($"refused a garbage body and still served: {after.Length > 0}");
        return 0;
    case "memory":
        // 64 MiB mapped from the memory fleet, written and read back in place, then freed.
        var buffer = await FosMemory.AllocateAsync(64 << 20);
        buffer.Memory.Span.Fill(0x5A);
        var whole = buffer.Memory.Span.IndexOfAnyExcept((byte)0x5A) < 0 && buffer.Memory.Length == 64 << 20;
        await buffer.FreeAsync();
        Console.WriteLine($"mapped, written and freed: {whole}");
        return 0;
    case "map-others":
        // Maps memory by tokens it was never granted (another process's, or none): each is EBADF.
        var refusedMaps = 0;
        for (var token = 1; token <= 50; token++)
        {
            try
            {
                KernelContext.Current.MapMemory(token, 4096);
            }
            catch (FosException ex) when (ex.Code == "EBADF")
            {
                refusedMaps++;
            }
        }
        Console.WriteLine($"refused {refusedMaps} of 50");
        return 0;
    case "unserializable":
        return await Refused(() => FosNames.CallAsync<object>(WellKnownNames.NameService, new Thread(() => { })));
    case "print-slowly":
        var lines = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 1; i <= lines; i++)
        {
            Console.WriteLine($"line {i}");
            await Task.Delay(TimeSpan.FromMilliseconds(int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture)));
        }
        return 0;
    case "write-then-crash":
        // Half a file written and synced, then a crash in the middle of the next write.
        await using (var file = await FosFile.OpenWriteAsync(args[1]))
        {
            await file.WriteAsync(new byte[256 << 10]);
            await file.FlushAsync();
            await file.WriteAsync(new byte[256 << 10]);
            Environment.FailFast("crashed in the middle of a write");
        }
        return 0;
    case "args":
        foreach (var arg in args[1..]) Console.WriteLine($"[{arg}]");
        return 0;
    case "cat":
        while (await FosProcess.In.ReadLineAsync() is { } line) Console.WriteLine(line);
        return 0;
    default:
        Console.Error.WriteLine("usage: hostile MODE [ARGS] (see the source for the modes)");
        return 2;
}

// The rings this process writes to the machine's cores, reached past its own kernel.
static Fos.Runtime.Processes.FrameRing[] OwnRings()
{
    var kernel = (CoreKernel)KernelContext.Current;
    var host = typeof(CoreKernel).GetField("host", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(kernel)!;
    return (Fos.Runtime.Processes.FrameRing[])typeof(Fos.Runtime.Processes.ProcessCoreHost)
        .GetField("outbound", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(host)!;
}

static int Recurse(int depth) => depth == int.MaxValue ? depth : Recurse(depth + 1) + 1;

// Says what refused an operation the program may not do, or that it went through.
static async Task<int> Refused(Func<Task> attempt)
{
    try
    {
        await attempt();
        Console.WriteLine("allowed");
        return 0;
    }
    catch (FosException ex)
    {
        Console.WriteLine($"refused: {ex.Error}: {ex.Message}");
        return 3;
    }
}
