// The samples' entry point: see Cli.cs for the commands (`--help` lists them).
return MiniNet.Samples.Cli.Run(args);
