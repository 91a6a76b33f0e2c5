namespace Fos.Services.FileSystem;

/// <summary>
/// Work under way on one core's loop, counted, so that something can wait until none is left
/// without polling: the last piece to finish completes the wait.
/// </summary>
internal sealed class Underway
{
    private int count;
    private TaskCompletionSource? idle;

    public void Begin() => count++;

    public void End()
    {
        if (--count > 0 || idle is not { } waiting) return;
        idle = null;
        waiting.SetResult();
    }

    /// <summary>Completes when no work is under way.</summary>
    public Task Idle() => count == 0 ? Task.CompletedTask : (idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
}
