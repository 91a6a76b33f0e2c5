namespace Fos.Sys.Tests;

/// <summary>Where the test applications are built (tests/Apps), beside these tests' own build.</summary>
internal static class HostileApp
{
    /// <summary>The hostile program: every way a program can misbehave, one mode each.</summary>
    public static string Path => AppPath("hostile");

    /// <summary>tests/Fos.Sys.Tests/bin/CONFIG/net10.0/ → tests/Apps/NAME/bin/CONFIG/net10.0/NAME.dll</summary>
    public static string AppPath(string name)
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        var (framework, configuration) = (here.Name, here.Parent!.Name);
        var tests = here.Parent!.Parent!.Parent!.Parent!.FullName;
        return System.IO.Path.Combine(tests, "Apps", name, "bin", configuration, framework, name + ".dll");
    }
}
