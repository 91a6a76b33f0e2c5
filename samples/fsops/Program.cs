// fsops STEP...: runs file-system calls one by one, exactly as scripted, and prints "ok STEP" after
// each returns. A test uses it to leave the file system in a known state, some of it synced and
// some of it not. Each STEP is one argument of space-separated words:
//   mkdir PATH                  create a directory
//   create NAME PATH            open (creating it) a file for writing, as handle NAME
//   opendir NAME PATH           open a directory, as handle NAME (to fsync its entries)
//   write NAME OFFSET LENGTH TAG  write LENGTH bytes at OFFSET: byte i is Pattern(TAG, OFFSET + i)
//   fsync NAME                  fsync a handle: its file's data, or its directory's entries, are durable
//   close NAME                  close a handle (a file written through it is durable)
//   rename FROM TO              rename
// Handles still open at the end close with the process, and that close syncs nothing: what was
// written through them and never synced is left as a power loss would find it.
using System.Globalization;
using Fos.Protocols.FileSystem;
using Fos.Sys;

if (args.Length == 0)
{
    FosProcess.Error.WriteLine("usage: fsops STEP...");
    return 2;
}
var handles = new Dictionary<string, FsOpened>(StringComparer.Ordinal);
foreach (var step in args)
{
    var words = step.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    try
    {
        switch (words)
        {
            case ["mkdir", var path]:
                await FosPosix.Mkdir(path);
                break;
            case ["create", var name, var path]:
                handles[name] = await FosPosix.Open(path, new FsOpenFlags(Create: true, Write: true));
                break;
            case ["opendir", var name, var path]:
                handles[name] = await FosPosix.Open(path, new FsOpenFlags(Directory: true));
                break;
            case ["write", var name, var offset, var length, var tag]:
                var at = long.Parse(offset, CultureInfo.InvariantCulture);
                var data = new byte[int.Parse(length, CultureInfo.InvariantCulture)];
                var t = long.Parse(tag, CultureInfo.InvariantCulture);
                for (var i = 0; i < data.Length; i++) data[i] = Pattern(t, at + i);
                await FosPosix.PWrite(Handle(name), at, data);
                break;
            case ["fsync", var name]:
                await FosPosix.FSync(Handle(name));
                break;
            case ["close", var name]:
                await FosPosix.Close(Handle(name));
                handles.Remove(name);
                break;
            case ["rename", var from, var to]:
                await FosPosix.Rename(from, to);
                break;
            default:
                FosProcess.Error.WriteLine($"fsops: '{step}' is not a step");
                return 2;
        }
    }
    catch (FosIOException ex)
    {
        FosProcess.Error.WriteLine($"fsops: {step}: {ex.Message}");
        return 1;
    }
    FosProcess.Out.WriteLine($"ok {step}");
}
return 0;

FsOpened Handle(string name) => handles.TryGetValue(name, out var opened) ? opened : throw new FosIOException(Errno.EBADF, $"no handle named {name}");

// The byte a write tagged TAG puts at a file offset (splitmix64 of both): any byte read back
// tells which write, if any, put it there.
static byte Pattern(long tag, long offset)
{
    var z = unchecked((ulong)tag * 0x9E3779B97F4A7C15UL + (ulong)offset);
    z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
    z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
    return (byte)(z ^ (z >> 31));
}
