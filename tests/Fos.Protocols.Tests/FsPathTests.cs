using Fos.Kernel;
using Fos.Protocols.FileSystem;

namespace Fos.Protocols.Tests;

/// <summary>The quick walk's view of a path agrees with <see cref="FsPath.Split"/>, or stops for it.</summary>
public class FsPathTests
{
    [Theory]
    [InlineData("/")]
    [InlineData("//")]
    [InlineData("/a")]
    [InlineData("/a/b/c.txt")]
    [InlineData("//a///b/")]
    public void A_plain_path_has_the_parts_split_gives(string path)
    {
        var parts = new List<string>();
        foreach (var part in FsPath.Plain(path)!.Value) parts.Add(part.ToString());
        Assert.Equal(FsPath.Split(path), parts);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("relative/path")]
    [InlineData("/caf\u00e9")]
    [InlineData("/\uD800")]
    public void A_path_that_is_not_plain_is_left_to_split(string? path) => Assert.Null(FsPath.Plain(path));

    [Fact]
    public void A_path_longer_than_the_most_is_left_to_split()
    {
        var path = "/" + string.Join('/', Enumerable.Repeat(new string('n', 200), 25));
        Assert.Null(FsPath.Plain(path));
        Assert.Equal(FosError.ServiceError, Assert.Throws<FosException>(() => FsPath.Split(path)).Error);
    }

    [Theory]
    [InlineData("/a/./b", 1)]
    [InlineData("/a/../b", 1)]
    [InlineData("/a/b\0c", 1)]
    public void A_part_split_refuses_comes_out_empty(string path, int at)
    {
        var parts = new List<string>();
        foreach (var part in FsPath.Plain(path)!.Value) parts.Add(part.ToString());
        Assert.Equal("", parts[at]);
        Assert.Throws<FosException>(() => FsPath.Split(path));
    }

    [Fact]
    public void A_name_longer_than_the_most_comes_out_empty()
    {
        var parts = new List<string>();
        foreach (var part in FsPath.Plain("/a/" + new string('x', FsPath.MaxName + 1))!.Value) parts.Add(part.ToString());
        Assert.Equal(["a", ""], parts);
        parts.Clear();
        foreach (var part in FsPath.Plain("/a/" + new string('x', FsPath.MaxName))!.Value) parts.Add(part.ToString());
        Assert.Equal(FsPath.MaxName, parts[1].Length);
    }
}
