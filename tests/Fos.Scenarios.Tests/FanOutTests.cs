using Fos.Kernel;
using Fos.Services.Basic;

namespace Fos.Scenarios.Tests;

public class FanOutTests
{
    [Theory]
    [MemberData(nameof(Runtimes.Both), MemberType = typeof(Runtimes))]
    public async Task A_client_calls_every_member_of_a_fleet_at_once_and_hears_from_each(string kind)
    {
        await using var system = await Runtimes.Boot(kind, cores: 4);
        var cores = system.Cores;
        foreach (var core in cores.Skip(1))
            await system.Execute(core, k => k.Register("/test/fanout", k.StartServer(EchoServer.Image)), Runtimes.Deadline);

        var rounds = await system.Execute(cores[0], async k =>
        {
            var members = (await k.LookupAll("/test/fanout")).Members;
            var answers = new List<string>();
            for (var round = 0; round < 10; round++)
            {
                var replies = await Task.WhenAll(members.Select(m => k.Call<string>(m, $"{round}@{m.Address.CoreId}").AsTask()));
                answers.AddRange(replies);
            }
            return (members.Length, answers);
        }, Runtimes.Deadline);

        Assert.Equal(3, rounds.Length);
        var expected = Enumerable.Range(0, 10).SelectMany(r => cores.Skip(1).Select(c => $"{r}@{c}"));
        Assert.Equal(expected, rounds.answers);
    }
}
