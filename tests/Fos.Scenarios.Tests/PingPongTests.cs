using Fos.Kernel;
using Fos.Services.Basic;

namespace Fos.Scenarios.Tests;

public class PingPongTests
{
    [Theory]
    [MemberData(nameof(Runtimes.Both), MemberType = typeof(Runtimes))]
    public async Task A_call_to_a_server_on_another_core_comes_back_with_its_answer(string kind)
    {
        await using var system = await Runtimes.Boot(kind);
        var cores = system.Cores;
        var echo = await system.Execute(cores[0], k => k.Spawn(EchoServer.Image, cores[1]), Runtimes.Deadline);
        var replies = await system.Execute(cores[0], async k =>
        {
            var got = new List<object?>();
            for (var i = 0; i < 100; i++) got.Add(await k.Call(echo, $"ping {i}"));
            return got;
        }, Runtimes.Deadline);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (object?)$"ping {i}"), replies);
        Assert.Equal(cores[1], echo.Address.CoreId);
    }
}
