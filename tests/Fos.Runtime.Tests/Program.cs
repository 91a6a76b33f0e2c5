using Fos.Runtime.Tests;

// The test assembly doubles as the child process the crash tests kill: `store-writer ENGINE DIR`
// writes batches to a store until it is killed. Run any other way, it does nothing.
if (args.Length == 3 && args[0] == StoreWriter.Command) return StoreWriter.Run(args[1], args[2]);
return 0;
