using Fos.Services.FileSystem;

namespace Fos.Services.Tests;

/// <summary>The member's cache of walked paths: dropped whole when its version moves, and bounded whatever a client names.</summary>
public class PathCacheTests
{
    [Fact]
    public void A_path_is_remembered_until_the_version_moves()
    {
        var cache = new PathCache();
        var walked = cache.Put("/a/b", now: 1, inode: 42);
        Assert.Same(walked, cache.Get("/a/b", now: 1));
        Assert.Equal(42, walked.Inode);
        Assert.Null(cache.Get("/a/b", now: 2)); // a name changed somewhere: everything walked before is gone
        Assert.Null(cache.Get("/a/b", now: 1)); // and a stale version does not bring it back
    }

    [Fact]
    public void Many_paths_and_long_ones_cost_a_bounded_amount()
    {
        var cache = new PathCache();
        for (var i = 0; i < 40_000; i++) cache.Put($"/many/{i}", now: 7, inode: i);
        Assert.True(cache.Count <= PathCache.MaxPaths, $"{cache.Count} paths kept");

        var longPath = "/" + new string('x', PathCache.MaxPathLength);
        var answered = cache.Put(longPath, now: 7, inode: 1);
        Assert.Equal(1, answered.Inode); // answered, not kept
        Assert.Null(cache.Get(longPath, now: 7));
    }
}
