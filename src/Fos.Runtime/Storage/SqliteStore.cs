using Fos.Kernel;
using Fos.Kernel.Storage;
using Microsoft.Data.Sqlite;

namespace Fos.Runtime.Storage;

/// <summary>
/// A store in SQLite (WAL journal, synchronous=FULL): one table of byte keys and values. Writes
/// accumulate in an open transaction, visible to this store's reads at once; a sync commits it,
/// which fsyncs the log. A killed process therefore loses what was not synced, as the contract
/// allows. A connection is not thread-safe, so the commit runs on the calling core.
/// </summary>
internal sealed class SqliteStore : IStore
{
    private readonly SqliteConnection connection;
    private readonly SqliteCommand get;
    private readonly SqliteCommand put;
    private readonly SqliteCommand delete;
    private SqliteTransaction? open;

    private SqliteStore(string name, SqliteConnection connection)
    {
        Name = name;
        this.connection = connection;
        Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; " +
                "CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;");
        get = Prepare("SELECT v FROM kv WHERE k = $k", "$k");
        put = Prepare("INSERT INTO kv (k, v) VALUES ($k, $v) ON CONFLICT(k) DO UPDATE SET v = excluded.v", "$k", "$v");
        delete = Prepare("DELETE FROM kv WHERE k = $k", "$k");
    }

    public static SqliteStore Open(string name, string directory)
    {
        Directory.CreateDirectory(directory);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(directory, "store.sqlite"),
            Pooling = false,
        }.ToString());
        try
        {
            connection.Open();
            return new SqliteStore(name, connection);
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw new FosException(FosError.BadRequest, $"cannot open store '{name}' in {directory}: {ex.Message}");
        }
    }

    public string Name { get; }

    public byte[]? Get(ReadOnlySpan<byte> key)
    {
        get.Transaction = open;
        get.Parameters[0].Value = key.ToArray();
        return get.ExecuteScalar() as byte[];
    }

    public void Write(StoreBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        open ??= connection.BeginTransaction();
        foreach (var (key, value) in batch.Operations)
        {
            if (value is null)
            {
                delete.Transaction = open;
                delete.Parameters[0].Value = key;
                delete.ExecuteNonQuery();
            }
            else
            {
                put.Transaction = open;
                put.Parameters[0].Value = key;
                put.Parameters[1].Value = value;
                put.ExecuteNonQuery();
            }
        }
    }

    public IReadOnlyList<KeyValuePair<byte[], byte[]>> Scan(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> from = default, int limit = int.MaxValue)
    {
        var result = new List<KeyValuePair<byte[], byte[]>>();
        if (limit <= 0) return result;
        var prefixCopy = prefix.ToArray();
        using var scan = connection.CreateCommand();
        scan.Transaction = open;
        scan.CommandText = "SELECT k, v FROM kv WHERE k >= $from ORDER BY k";
        scan.Parameters.AddWithValue("$from", from.IsEmpty ? prefixCopy : from.ToArray());
        using var reader = scan.ExecuteReader();
        while (result.Count < limit && reader.Read())
        {
            var key = (byte[])reader.GetValue(0);
            if (!key.AsSpan().StartsWith(prefixCopy)) break;
            result.Add(new(key, (byte[])reader.GetValue(1)));
        }
        return result;
    }

    public Task Sync()
    {
        var committing = open;
        open = null;
        committing?.Commit();
        committing?.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        open?.Dispose(); // rolls back: what was not synced is lost, as on a crash
        open = null;
        get.Dispose();
        put.Dispose();
        delete.Dispose();
        connection.Dispose();
    }

    private void Execute(string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private SqliteCommand Prepare(string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var p in parameters) command.Parameters.Add(p, SqliteType.Blob);
        command.Prepare();
        return command;
    }
}
