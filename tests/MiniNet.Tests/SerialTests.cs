namespace MiniNet.Tests;

/// <summary>
/// Tests that seed and then draw from the process-wide Generator.Default (training runs compared
/// step by step) join this collection: it runs alone, after the parallel tests, so no other test
/// draws from the generator in between.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialTests
{
    public const string Name = "Uses Generator.Default";
}
