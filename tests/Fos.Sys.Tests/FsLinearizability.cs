using System.Text;

namespace Fos.Sys.Tests;

/// <summary>The calls a history records; a whole-file write and a read are each two calls (open, then pwrite or pread).</summary>
public enum LinKind
{
    Mkdir,
    Rmdir,
    Unlink,
    CreateExclusive, // open(O_CREAT|O_EXCL|O_WRONLY), closed at once
    OpenWrite, // open(O_CREAT|O_WRONLY): the file's handle, for the PWrite that follows
    PWrite, // pwrite(0, Value) through the handle of the OpenWrite at Ref
    OpenRead, // open(O_RDONLY)
    PRead, // pread(0, ...) through the handle of the OpenRead at Ref → its contents
    Stat,
    ReadDir,
    Rename,
}

/// <summary>
/// One call of a history: who made it, what it was, when it was invoked and when it answered (in
/// virtual nanoseconds), and what it answered: "ok", an errno's name, a stat ("dir" or "file N"),
/// a listing ("a,b"), the contents a pread returned; null when the client never learnt (a timeout),
/// so the call may have taken effect or not, at any time after it was invoked.
/// </summary>
public sealed record LinOp(int Client, LinKind Kind, string Path, long Invoke, long Response, string? Result, string? Other = null, string? Value = null, int Ref = -1)
{
    public bool Known => Result is not null;

    public override string ToString() =>
        $"c{Client} [{Invoke / 1000}µs..{(Known ? (Response / 1000) + "µs" : "?")}] {Kind} {Path}{(Other is null ? "" : " → " + Other)}" +
        $"{(Value is null ? "" : " '" + Value + "'")}{(Ref >= 0 ? " #" + Ref : "")}: {Result ?? "unknown"}";
}

/// <summary>
/// A sequential POSIX tree: every path that exists, as a directory or as a file (by file id, so a
/// handle follows its file through renames and unlinks), the files' contents, and the open handles
/// (by the index of the call that opened them). Immutable: applying a call gives a new tree.
/// </summary>
public sealed class FsModel
{
    private const int Dir = -1;
    private readonly SortedDictionary<string, int> paths; // path → Dir, or the id of the file there
    private readonly Dictionary<int, string> contents;
    private readonly SortedDictionary<int, int> handles; // opening call → file id
    private readonly int nextId;

    public static readonly FsModel Empty = new(new(StringComparer.Ordinal), [], [], 0);

    private FsModel(SortedDictionary<string, int> paths, Dictionary<int, string> contents, SortedDictionary<int, int> handles, int nextId)
    {
        (this.paths, this.contents, this.handles, this.nextId) = (paths, contents, handles, nextId);
        Key = MakeKey();
    }

    /// <summary>The tree up to the naming of file ids: equal keys, equal futures.</summary>
    public string Key { get; }

    private string MakeKey()
    {
        var names = new Dictionary<int, int>();
        int Name(int id) => names.TryGetValue(id, out var n) ? n : names[id] = names.Count;
        var key = new StringBuilder();
        foreach (var (path, node) in paths)
            key.Append(path).Append(node == Dir ? "/" : $"=f{Name(node)}:{contents[node]}").Append(';');
        foreach (var (call, id) in handles)
            key.Append('#').Append(call).Append("=f").Append(Name(id)).Append(':').Append(contents[id]).Append(';');
        return key.ToString();
    }

    public string Describe() => string.Join(", ", paths.Select(p => p.Value == Dir ? p.Key + "/" : $"{p.Key}='{contents[p.Value]}'"));

    private static string ParentOf(string path) => path.LastIndexOf('/') is var i and > 0 ? path[..i] : "/";

    private bool IsDir(string path) => path == "/" || (paths.TryGetValue(path, out var node) && node == Dir);

    private bool Exists(string path) => path == "/" || paths.ContainsKey(path);

    /// <summary>The error of walking to the parent of <paramref name="path"/>: ENOENT for a missing step, ENOTDIR for a file on the way.</summary>
    private string? WalkError(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var at = "";
        for (var i = 0; i < parts.Length - 1; i++)
        {
            at += "/" + parts[i];
            if (!Exists(at)) return "ENOENT";
            if (!IsDir(at)) return "ENOTDIR";
        }
        return null;
    }

    private IEnumerable<string> Children(string dir)
    {
        var prefix = dir == "/" ? "/" : dir + "/";
        return paths.Keys.Where(p => p.StartsWith(prefix, StringComparison.Ordinal) && p.IndexOf('/', prefix.Length) < 0);
    }

    private FsModel With(Action<SortedDictionary<string, int>, Dictionary<int, string>, SortedDictionary<int, int>> change, int nextId)
    {
        var (p, c, h) = (new SortedDictionary<string, int>(paths, StringComparer.Ordinal), new Dictionary<int, string>(contents), new SortedDictionary<int, int>(handles));
        change(p, c, h);
        // A file no name and no handle reaches is gone for good.
        foreach (var id in c.Keys.Where(id => !p.ContainsValue(id) && !h.ContainsValue(id)).ToList()) c.Remove(id);
        return new FsModel(p, c, h, nextId);
    }

    /// <summary>Does call <paramref name="index"/> → the tree after it, and what POSIX says it answers ("A|B" when either is allowed).</summary>
    public (FsModel After, string Result) Apply(LinOp op, int index)
    {
        var path = op.Path;
        switch (op.Kind)
        {
            case LinKind.Mkdir:
                if (WalkError(path) is { } mkdirError) return (this, mkdirError);
                if (Exists(path)) return (this, "EEXIST");
                return (With((p, _, _) => p[path] = Dir, nextId), "ok");
            case LinKind.Rmdir:
                if (WalkError(path) is { } rmdirError) return (this, rmdirError);
                if (!Exists(path)) return (this, "ENOENT");
                if (!IsDir(path)) return (this, "ENOTDIR");
                if (Children(path).Any()) return (this, "ENOTEMPTY");
                return (With((p, _, _) => p.Remove(path), nextId), "ok");
            case LinKind.Unlink:
                if (WalkError(path) is { } unlinkError) return (this, unlinkError);
                if (!Exists(path)) return (this, "ENOENT");
                if (IsDir(path)) return (this, "EISDIR");
                return (With((p, _, _) => p.Remove(path), nextId), "ok");
            case LinKind.CreateExclusive:
                if (WalkError(path) is { } createError) return (this, createError);
                if (Exists(path)) return (this, "EEXIST");
                return (With((p, c, _) => (p[path], c[nextId]) = (nextId, ""), nextId + 1), "ok");
            case LinKind.OpenWrite:
                if (WalkError(path) is { } openError) return (this, openError);
                if (IsDir(path)) return (this, "EISDIR");
                if (paths.TryGetValue(path, out var existing))
                    return (op.Known ? With((_, _, h) => h[index] = existing, nextId) : this, "ok");
                return (With((p, c, h) =>
                {
                    (p[path], c[nextId]) = (nextId, "");
                    if (op.Known) h[index] = nextId; // a handle nobody learnt of is never used
                }, nextId + 1), "ok");
            case LinKind.PWrite:
                if (!handles.TryGetValue(op.Ref, out var written)) return (this, "EBADF");
                return (With((_, c, h) =>
                {
                    c[written] = op.Value!;
                    h.Remove(op.Ref);
                }, nextId), "ok");
            case LinKind.OpenRead:
                if (WalkError(path) is { } readError) return (this, readError);
                if (!Exists(path)) return (this, "ENOENT");
                if (IsDir(path)) return (this, "EISDIR");
                var read = paths[path];
                return (op.Known ? With((_, _, h) => h[index] = read, nextId) : this, "ok");
            case LinKind.PRead:
                if (!handles.TryGetValue(op.Ref, out var file)) return (this, "EBADF");
                return (With((_, _, h) => h.Remove(op.Ref), nextId), contents[file]);
            case LinKind.Stat:
                if (WalkError(path) is { } statError) return (this, statError);
                if (!Exists(path)) return (this, "ENOENT");
                return (this, IsDir(path) ? "dir" : $"file {contents[paths[path]].Length}");
            case LinKind.ReadDir:
                if (WalkError(path) is { } listError) return (this, listError);
                if (!Exists(path)) return (this, "ENOENT");
                if (!IsDir(path)) return (this, "ENOTDIR");
                return (this, string.Join(",", Children(path).Select(c => c[(c.LastIndexOf('/') + 1)..])));
            case LinKind.Rename:
                return Rename(path, op.Other!);
            default:
                throw new ArgumentOutOfRangeException(nameof(op));
        }
    }

    /// <summary>rename(2) with its checks in Linux's order.</summary>
    private (FsModel, string) Rename(string from, string to)
    {
        if (WalkError(from) is { } fromError) return (this, fromError);
        if (WalkError(to) is { } toError) return (this, toError);
        if (!Exists(from)) return (this, "ENOENT");
        if (from == to) return (this, "ok");
        if (to.StartsWith(from + "/", StringComparison.Ordinal)) return (this, "EINVAL");
        var moving = IsDir(from);
        if (Exists(to))
        {
            var target = IsDir(to);
            if (moving && !target) return (this, "ENOTDIR");
            // A file onto a directory that holds it: POSIX allows EISDIR (the kinds differ) or ENOTEMPTY (Linux's choice).
            if (!moving && target) return (this, from.StartsWith(to + "/", StringComparison.Ordinal) ? "EISDIR|ENOTEMPTY" : "EISDIR");
            if (target && Children(to).Any()) return (this, "ENOTEMPTY");
        }
        return (With((p, _, _) =>
        {
            p.Remove(to);
            var prefix = from + "/";
            foreach (var (path, node) in p.Where(e => e.Key == from || e.Key.StartsWith(prefix, StringComparison.Ordinal)).ToList())
            {
                p.Remove(path);
                p[to + path[from.Length..]] = node;
            }
        }, nextId), "ok");
    }

    /// <summary>Does <paramref name="observed"/> match what the model answers (one of the alternatives)?</summary>
    public static bool Matches(string expected, string observed) => expected.Split('|').Contains(observed);
}

/// <summary>
/// Wing and Gong's search for a linearization, with memoization (as Lowe's and Porcupine's
/// checkers do): a call may be placed next when every call that answered before it was invoked,
/// and every earlier call of its client that answered, is placed; each placement must give the
/// answer the call gave (calls without one give any). Pairs of (placed set, tree) seen once and
/// failed are not searched again. The history is linearizable when every answered call is placed.
/// </summary>
public sealed class LinearizabilityChecker
{
    private readonly IReadOnlyList<LinOp> ops;
    private readonly UInt128[] before; // calls that must be placed before each
    private readonly UInt128 known;
    private readonly HashSet<(UInt128, string)> failed = [];
    private readonly List<int> order = [];
    private List<int> deepest = [];
    private FsModel deepestModel = FsModel.Empty;

    public LinearizabilityChecker(IReadOnlyList<LinOp> ops)
    {
        if (ops.Count > 128) throw new ArgumentException("at most 128 calls", nameof(ops));
        this.ops = ops;
        before = new UInt128[ops.Count];
        for (var i = 0; i < ops.Count; i++)
        {
            if (ops[i].Known) known |= UInt128.One << i;
            for (var j = 0; j < ops.Count; j++)
                if (j != i && ops[j].Known && (ops[j].Response < ops[i].Invoke || (ops[j].Client == ops[i].Client && j < i)))
                    before[i] |= UInt128.One << j;
        }
    }

    /// <summary>States searched.</summary>
    public int Explored { get; private set; }

    /// <summary>One order of every answered call (and the unanswered ones that took effect), or null.</summary>
    public IReadOnlyList<int>? Linearization { get; private set; }

    public bool Check()
    {
        Linearization = Search(FsModel.Empty, UInt128.Zero) ? [.. order] : null;
        return Linearization is not null;
    }

    private bool Search(FsModel model, UInt128 done)
    {
        if ((done & known) == known) return true;
        if (!failed.Add((done, model.Key))) return false;
        Explored++;
        for (var i = 0; i < ops.Count; i++)
        {
            var bit = UInt128.One << i;
            if ((done & bit) != 0 || (before[i] & ~done) != 0) continue;
            var (after, result) = model.Apply(ops[i], i);
            if (ops[i].Known && !FsModel.Matches(result, ops[i].Result!)) continue;
            order.Add(i);
            if (order.Count > deepest.Count) (deepest, deepestModel) = ([.. order], after);
            if (Search(after, done | bit)) return true;
            order.RemoveAt(order.Count - 1);
        }
        return false;
    }

    /// <summary>The history, and the longest order found that explains a prefix of it, for a failure's message.</summary>
    public string Explain()
    {
        var text = new StringBuilder("history:\n");
        for (var i = 0; i < ops.Count; i++) text.Append($"  #{i} {ops[i]}\n");
        text.Append($"the longest linearizable order ({deepest.Count} calls): {string.Join(" ", deepest.Select(i => "#" + i))}\n");
        text.Append($"the tree after it: {deepestModel.Describe()}\n");
        var stuck = Enumerable.Range(0, ops.Count).Where(i => !deepest.Contains(i) && ops[i].Known).ToList();
        text.Append($"answered calls it could not place: {string.Join(" ", stuck.Select(i => "#" + i))}");
        return text.ToString();
    }
}
