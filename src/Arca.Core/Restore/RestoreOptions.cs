using Arca.Sources.Files;

namespace Arca.Restore;

public sealed record RestoreOptions
{
    public required string Target { get; init; }
    /// <summary>Snapshot paths to restore (a folder brings everything below it); empty means everything.</summary>
    public IReadOnlyList<string> Includes { get; init; } = [];
    public IReadOnlyList<Glob> Excludes { get; init; } = [];
    public OverwriteMode Overwrite { get; init; } = OverwriteMode.Always;
    /// <summary>
    /// Files written at once. One more than the cores: file creation waits on the file system, but more
    /// writers than that only contend for the same folder's lock (measured here: 3 as fast as 4, 8 slower).
    /// </summary>
    public int Workers { get; init; } = Environment.ProcessorCount + 1;
}
