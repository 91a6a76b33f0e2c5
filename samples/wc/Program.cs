// wc PATH...: lines, words and bytes of fos files, as the Unix tool prints them.
using Fos.Sys;

if (args.Length == 0)
{
    FosProcess.Error.WriteLine("usage: wc PATH...");
    return 2;
}
var status = 0;
long totalLines = 0, totalWords = 0, totalBytes = 0;
foreach (var path in args)
{
    try
    {
        var bytes = await FosFile.ReadAllBytesAsync(path);
        var text = System.Text.Encoding.UTF8.GetString(bytes);
        var lines = text.Count(c => c == '\n');
        var words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        FosProcess.Out.WriteLine($"{lines,7} {words,7} {bytes.Length,7} {path}");
        (totalLines, totalWords, totalBytes) = (totalLines + lines, totalWords + words, totalBytes + bytes.Length);
    }
    catch (FosIOException ex)
    {
        FosProcess.Error.WriteLine($"wc: {ex.Message}");
        status = 1;
    }
}
if (args.Length > 1) FosProcess.Out.WriteLine($"{totalLines,7} {totalWords,7} {totalBytes,7} total");
return status;
