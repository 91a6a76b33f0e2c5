// grep PATTERN [PATH...]: the lines of fos files (or of standard input) that match a regular expression.
using System.Text.RegularExpressions;
using Fos.Sys;

if (args.Length < 1)
{
    FosProcess.Error.WriteLine("usage: grep PATTERN [PATH...]");
    return 2;
}
Regex pattern;
try
{
    pattern = new Regex(args[0], RegexOptions.None, TimeSpan.FromSeconds(1));
}
catch (ArgumentException ex)
{
    FosProcess.Error.WriteLine($"grep: bad pattern: {ex.Message}");
    return 2;
}
var found = false;
if (args.Length == 1)
{
    while (await FosProcess.In.ReadLineAsync() is { } line)
    {
        if (!pattern.IsMatch(line)) continue;
        found = true;
        FosProcess.Out.WriteLine(line);
    }
    return found ? 0 : 1;
}
foreach (var path in args[1..])
{
    try
    {
        foreach (var line in await FosFile.ReadAllLinesAsync(path))
        {
            if (!pattern.IsMatch(line)) continue;
            found = true;
            FosProcess.Out.WriteLine(args.Length > 2 ? $"{path}:{line}" : line);
        }
    }
    catch (FosIOException ex)
    {
        FosProcess.Error.WriteLine($"grep: {ex.Message}");
        return 2;
    }
}
return found ? 0 : 1;
