// cp SOURCE DEST: copies a fos file (DEST may be a directory).
using Fos.Protocols.FileSystem;
using Fos.Sys;

if (args.Length != 2)
{
    FosProcess.Error.WriteLine("usage: cp SOURCE DEST");
    return 2;
}
try
{
    var destination = args[1];
    if (await FosDirectory.ExistsAsync(destination))
        destination = FosDirectory.Combine(destination, args[0][(args[0].LastIndexOf('/') + 1)..]);
    await FosFile.CopyAsync(args[0], destination, overwrite: true);
    var copied = await FosFile.StatAsync(destination);
    FosProcess.Out.WriteLine($"{copied.Size} bytes {args[0]} -> {destination}");
    return 0;
}
catch (FosIOException ex)
{
    FosProcess.Error.WriteLine($"cp: {ex.Message}");
    return ex.Errno == Errno.ENOENT ? 1 : 2;
}
