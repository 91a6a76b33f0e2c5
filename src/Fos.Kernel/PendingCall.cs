using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;

namespace Fos.Kernel;

/// <summary>
/// A call its kernel waits on, and the source of the <see cref="ValueTask{TResult}"/> the caller
/// awaits. Kernels keep a pool of them, so a call in steady state allocates nothing: no Task, no
/// continuation object, no record of what is pending. One kernel owns it and touches it only on
/// its core's loop, so it needs no locks. Like every pooled ValueTask, the result is taken once:
/// await it once, or turn it into a Task with AsTask() first.
/// </summary>
internal sealed class PendingCall : IValueTaskSource<object?>
{
    private readonly Stack<PendingCall> pool;
    private readonly int ownerThread = Environment.CurrentManagedThreadId; // the core's loop, which owns the pool
    private Action<object?>? continuation;
    private object? continuationState;
    private SynchronizationContext? context;
    private ExecutionContext? executionContext;
    private object? result;
    private ExceptionDispatchInfo? error;
    private bool completed;
    private bool mayFailOver;
    private short version;

    public PendingCall(Stack<PendingCall> pool) => this.pool = pool;

    public Address Target { get; private set; }

    /// <summary>When the call times out; <see cref="Unstamped"/> until the loop next reads the clock; long.MaxValue never.</summary>
    public long DeadlineNanoseconds { get; private set; }

    public const long Unstamped = long.MaxValue - 1;
    public TimeSpan Timeout { get; private set; }
    public CallPolicy? Policy { get; private set; }

    /// <summary>The request, kept only while the call may still fail over to another member.</summary>
    public object? Request { get; private set; }

    /// <summary>What the caller awaits, valid until its result is taken.</summary>
    public ValueTask<object?> Task => new(this, version);

    /// <summary>What a typed call's caller awaits: the same record, its reply checked and its failure translated.</summary>
    public ValueTask<T> Typed<T>() => new(ViewAs<T>(), version);

    public void Start(object? request, TimeSpan timeout, CallPolicy? policy)
    {
        Policy = policy;
        mayFailOver = policy?.Failover is not null;
        Request = mayFailOver ? request : null;
        Timeout = timeout;
    }

    /// <summary>Where the call goes now (again, when it fails over), and until when it waits.</summary>
    public void Aim(Address target, long deadlineNanoseconds)
    {
        Target = target;
        DeadlineNanoseconds = deadlineNanoseconds;
    }

    /// <summary>The name to fail over to, once: a second departed member ends the call.</summary>
    public string? TakeFailover()
    {
        if (!mayFailOver) return null;
        mayFailOver = false;
        return Policy!.Failover;
    }

    public void SetResult(object? reply) => Finish(reply, null);

    public void SetException(Exception exception) => Finish(null, ExceptionDispatchInfo.Capture(exception));

    private void Finish(object? reply, ExceptionDispatchInfo? failure)
    {
        result = reply;
        error = failure;
        completed = true;
        var next = continuation;
        if (next is null) return; // not awaited yet: the awaiter finds it done
        var state = continuationState;
        continuation = null;
        continuationState = null;
        var flow = executionContext;
        executionContext = null;
        if (flow is null) Resume(next, state);
        else ResumeIn(flow, next, state);
    }

    // The reply arrives on the caller's own core, so its await resumes right here, inline, as an
    // awaited Task completed on the same SynchronizationContext does. Elsewhere it is posted there.
    // (The rare ways keep their closures in methods of their own: a lambda's captured variables are
    // allocated on entry to the method that declares them, taken or not.)
    private void Resume(Action<object?> next, object? state)
    {
        var target = context;
        context = null;
        if (target is null || target == SynchronizationContext.Current) next(state);
        else PostTo(target, next, state);
    }

    private static void PostTo(SynchronizationContext target, Action<object?> next, object? state) =>
        target.Post(static s => ((Action)s!)(), () => next(state));

    private void ResumeIn(ExecutionContext flow, Action<object?> next, object? state) =>
        ExecutionContext.Run(flow, static s => ((Action)s!)(), () => Resume(next, state));

    public ValueTaskSourceStatus GetStatus(short token)
    {
        Check(token);
        return !completed ? ValueTaskSourceStatus.Pending
            : error is null ? ValueTaskSourceStatus.Succeeded
            : ValueTaskSourceStatus.Faulted;
    }

    public void OnCompleted(Action<object?> next, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        Check(token);
        if (continuation is not null) throw new InvalidOperationException("a call's result can be awaited only once");
        if ((flags & ValueTaskSourceOnCompletedFlags.FlowExecutionContext) != 0) executionContext = ExecutionContext.Capture();
        if ((flags & ValueTaskSourceOnCompletedFlags.UseSchedulingContext) != 0) context = SynchronizationContext.Current;
        if (completed)
        {
            Resume(next, state); // finished between the awaiter's look and now
            return;
        }
        continuation = next;
        continuationState = state;
    }

    public object? GetResult(short token)
    {
        Check(token);
        if (!completed) throw new InvalidOperationException("a call's result was taken before its reply came");
        var reply = result;
        var failure = error;
        Reset();
        failure?.Throw();
        return reply;
    }

    private void Reset()
    {
        result = null;
        error = null;
        completed = false;
        context = null;
        executionContext = null;
        Target = default;
        DeadlineNanoseconds = 0;
        Policy = null;
        Request = null;
        mayFailOver = false;
        unchecked { version++; }
        // Taken elsewhere (an awaiter on another thread's context), it is not returned: the pool
        // is the core's alone and needs no lock.
        if (Environment.CurrentManagedThreadId == ownerThread && pool.Count < MaxPooled) pool.Push(this);
    }

    private void Check(short token)
    {
        if (token != version) throw new InvalidOperationException("a call's result was already taken (a ValueTask may be awaited only once)");
    }

    /// <summary>Calls a kernel keeps for reuse: more than enough for the calls a core has in flight at once.</summary>
    public const int MaxPooled = 1024;

    // A few typed views of this record, made once each: a core that makes a handful of kinds of
    // call (open, write, close) reuses them, and the pool hands back the same records in turn.
    private readonly object?[] views = new object?[4];
    private int nextView;

    private View<T> ViewAs<T>()
    {
        foreach (var view in views)
            if (view is View<T> typed) return typed;
        var made = new View<T>(this);
        views[nextView] = made;
        nextView = (nextView + 1) % views.Length;
        return made;
    }

    /// <summary>The record seen as a <typeparamref name="T"/>: the reply must be one, and a failure is the policy's.</summary>
    private sealed class View<T>(PendingCall call) : IValueTaskSource<T>
    {
        public ValueTaskSourceStatus GetStatus(short token) => call.GetStatus(token);

        public void OnCompleted(Action<object?> next, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            call.OnCompleted(next, state, token, flags);

        public T GetResult(short token)
        {
            var (target, translate) = (call.Target, call.Policy?.Translate); // read before the record is reused
            try
            {
                var reply = call.GetResult(token);
                return reply is T typed ? typed : throw KernelExtensions.Unexpected<T>(reply, target.ToString());
            }
            catch (FosException failure) when (translate is not null)
            {
                throw translate(failure) ?? failure; // a policy with nothing to say leaves the failure as it was
            }
        }
    }
}
