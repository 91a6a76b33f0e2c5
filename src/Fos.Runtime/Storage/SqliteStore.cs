using Fos.Kernel;
using Fos.Kernel.Storage;
using Microsoft.Data.Sqlite;

namespace Fos.Runtime.Storage;

/// <summary>
/// A store in SQLite: one table of byte keys and values, in WAL mode with synchronous=NORMAL. Every
/// batch is its own transaction: its commit is a write() of the batch's pages to the WAL with no
/// fsync, so once a write returns it survives a killed process, and a clean close keeps it. SQLite
/// recovers the WAL up to the last whole commit, so a crash keeps a prefix of the batches. A sync
/// commits a one-row change under synchronous=FULL, which fsyncs the WAL and so every commit before
/// it. A connection is not thread-safe, so everything, the sync too, runs on the calling core, one
/// call at a time.
/// </summary>
/// <remarks>
/// <para><b>Memory.</b> The connection's page cache holds <see cref="StoreOptions.SqliteCacheBytes"/>
/// (8 MB) and at most <see cref="StoreOptions.SqliteMmapBytes"/> of the file is mapped (none by
/// default).</para>
/// <para><b>Space.</b> The database uses incremental auto-vacuum: once deletes have freed
/// <see cref="StoreOptions.VacuumAfterFreedBytes"/> of pages, the write that crossed the mark
/// vacuums them and checkpoints the WAL with truncation, which gives the space back to the host.
/// The WAL itself is cut back to a few MB after each checkpoint.</para>
/// </remarks>
internal sealed class SqliteStore : IStore
{
    private const long WalLimitBytes = 4L << 20;

    private readonly SqliteConnection connection;
    private readonly StoreGate gate;
    private readonly Lock serial = new(); // the connection and its prepared commands serve one call at a time
    private readonly SqliteCommand get;
    private readonly SqliteCommand put;
    private readonly SqliteCommand delete;
    private readonly SqliteCommand deleteRange;
    private readonly SqliteCommand freePages;
    private readonly SqliteCommand syncMark;
    private readonly long vacuumAfterPages;
    private readonly HostExtents extents;
    private int disposing;

    private SqliteStore(string name, SqliteConnection connection, StoreOptions settings, HostExtents extents)
    {
        Name = name;
        this.connection = connection;
        this.extents = extents;
        gate = new StoreGate(name);
        // auto_vacuum takes effect only before the first table exists, or with a VACUUM that
        // rebuilds the file: a database made before it is rebuilt once, on its first open here.
        // One connection owns the file (a store is open once), so it locks it for good: no lock
        // calls per transaction, and the WAL index lives in the heap instead of a shared-memory file.
        Execute("PRAGMA locking_mode=EXCLUSIVE;");
        Execute("PRAGMA auto_vacuum=INCREMENTAL;");
        Execute("PRAGMA journal_mode=WAL;");
        if (Scalar("PRAGMA auto_vacuum;") != 2) Execute("PRAGMA journal_mode=DELETE; VACUUM; PRAGMA journal_mode=WAL;");
        var pageSize = Scalar("PRAGMA page_size;");
        vacuumAfterPages = Math.Max(1, settings.VacuumAfterFreedBytes / pageSize);
        Execute($"PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit={WalLimitBytes}; " +
                $"PRAGMA cache_size=-{Math.Max(64, settings.SqliteCacheBytes >> 10)}; PRAGMA mmap_size={settings.SqliteMmapBytes}; " +
                "CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID; " +
                "CREATE TABLE IF NOT EXISTS synced (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); " +
                "INSERT OR IGNORE INTO synced (id, n) VALUES (1, 0);");
        get = Prepare("SELECT v FROM kv WHERE k = $k", "$k");
        put = Prepare("INSERT INTO kv (k, v) VALUES ($k, $v) ON CONFLICT(k) DO UPDATE SET v = excluded.v", "$k", "$v");
        delete = Prepare("DELETE FROM kv WHERE k = $k", "$k");
        deleteRange = Prepare("DELETE FROM kv WHERE k >= $from AND k < $to", "$from", "$to");
        freePages = Prepare("PRAGMA freelist_count");
        syncMark = Prepare("UPDATE synced SET n = n + 1 WHERE id = 1");
    }

    public static SqliteStore Open(string name, string directory, StoreOptions settings)
    {
        Directory.CreateDirectory(directory);
        var extents = new HostExtents(Path.Combine(directory, "extents")); // first: it holds nothing open yet, so a failed open below leaks nothing
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(directory, "store.sqlite"),
            Pooling = false,
        }.ToString());
        try
        {
            connection.Open();
            return new SqliteStore(name, connection, settings, extents);
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
        using var pass = gate.Enter();
        if (key.IsEmpty) return null;
        using var one = serial.EnterScope();
        get.Parameters[0].Value = key.ToArray();
        return get.ExecuteScalar() as byte[];
    }

    public void Write(StoreBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        using var pass = gate.Enter();
        using var one = serial.EnterScope();
        var deletes = false;
        using (var transaction = connection.BeginTransaction())
        {
            foreach (var edit in batch.Edits)
            {
                Apply(transaction, edit);
                deletes |= edit.Kind != StoreEditKind.Put;
            }
            transaction.Commit();
        }
        if (deletes) GiveBackFreePages();
    }

    public IReadOnlyList<KeyValuePair<byte[], byte[]>> Scan(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> from = default, int limit = int.MaxValue)
    {
        using var pass = gate.Enter();
        var result = new List<KeyValuePair<byte[], byte[]>>();
        if (limit <= 0) return result;
        using var one = serial.EnterScope();
        var prefixCopy = prefix.ToArray();
        using var scan = connection.CreateCommand();
        scan.CommandText = "SELECT k, v FROM kv WHERE k >= $from ORDER BY k";
        scan.Parameters.Add("$from", SqliteType.Blob).Value = from.SequenceCompareTo(prefix) > 0 ? from.ToArray() : prefixCopy;
        using var reader = scan.ExecuteReader();
        while (result.Count < limit && reader.Read())
        {
            var key = (byte[])reader.GetValue(0);
            if (!key.AsSpan().StartsWith(prefixCopy)) break;
            result.Add(new(key, (byte[])reader.GetValue(1)));
        }
        return result;
    }

    public IExtents Extents => extents;

    // In WAL mode a commit under synchronous=FULL fsyncs the WAL, which holds every commit before
    // it. Extents go first: a batch that records what they hold is never durable without them.
    public Task Sync()
    {
        if (!gate.TryEnter(out var pass)) return Task.FromException(new ObjectDisposedException($"store '{Name}'", $"store '{Name}' is closed"));
        using (pass)
        using (serial.EnterScope())
        {
            try
            {
                extents.FlushAll();
                Execute("PRAGMA synchronous=FULL;");
                try
                {
                    syncMark.ExecuteNonQuery();
                }
                finally
                {
                    Execute("PRAGMA synchronous=NORMAL;");
                }
                return Task.CompletedTask;
            }
            catch (Exception ex) when (ex is SqliteException or IOException)
            {
                return Task.FromException(ex);
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposing, 1) != 0) return;
        gate.Close();
        extents.Dispose();
        get.Dispose();
        put.Dispose();
        delete.Dispose();
        deleteRange.Dispose();
        freePages.Dispose();
        syncMark.Dispose();
        connection.Dispose(); // every batch is committed already: nothing to roll back
    }

    private void Apply(SqliteTransaction transaction, StoreEdit edit)
    {
        var (command, arguments) = edit.Kind switch
        {
            StoreEditKind.Put => (put, new object?[] { edit.Key, edit.Value }),
            StoreEditKind.Delete => (delete, [edit.Key]),
            _ => (deleteRange, [edit.Key, edit.End]),
        };
        command.Transaction = transaction;
        for (var i = 0; i < arguments.Length; i++) command.Parameters[i].Value = arguments[i];
        command.ExecuteNonQuery();
    }

    /// <summary>Once enough pages are free, moves them to the end of the file and cuts them off.</summary>
    private void GiveBackFreePages()
    {
        if ((long)freePages.ExecuteScalar()! < vacuumAfterPages) return;
        Execute("PRAGMA incremental_vacuum;");
        Execute("PRAGMA wal_checkpoint(TRUNCATE);");
    }

    private void Execute(string sql) => Run(sql, command => command.ExecuteNonQuery());

    private long Scalar(string sql) => Run(sql, command => (long)command.ExecuteScalar()!);

    private T Run<T>(string sql, Func<SqliteCommand, T> run)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return run(command);
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
