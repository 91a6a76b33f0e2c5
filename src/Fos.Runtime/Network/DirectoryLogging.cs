using Microsoft.Extensions.Logging;

namespace Fos.Runtime.Network;

/// <summary>
/// Raft's logging, into the machine's log: warnings and worse only (what is normal is not news),
/// and each line at most once a minute (a node that is down is reported on every heartbeat).
/// </summary>
internal sealed class DirectoryLogging(Action<string> log) : ILoggerFactory, ILogger
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMinutes(1);
    private const int Remembered = 256;

    private readonly Lock gate = new();
    private readonly Dictionary<string, DateTime> said = new(StringComparer.Ordinal);

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel is >= LogLevel.Warning and < LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        var line = $"directory: {formatter(state, exception)}{(exception is null ? "" : $" ({exception.GetType().Name}: {exception.Message})")}";
        var now = DateTime.UtcNow;
        lock (gate)
        {
            if (said.TryGetValue(line, out var last) && now - last < Quiet) return;
            if (said.Count >= Remembered) said.Clear();
            said[line] = now;
        }
        log(line);
    }

    public void Dispose()
    {
    }
}
