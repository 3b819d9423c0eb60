using Arca.Sources.Files;

namespace Arca.Restore;

public sealed record RestoreOptions
{
    public required string Target { get; init; }
    /// <summary>Snapshot paths to restore (a folder brings everything below it); empty means everything.</summary>
    public IReadOnlyList<string> Includes { get; init; } = [];
    public IReadOnlyList<Glob> Excludes { get; init; } = [];
    public OverwriteMode Overwrite { get; init; } = OverwriteMode.Always;
    /// <summary>Files written at once. I/O waits as much as it computes, so twice the cores.</summary>
    public int Workers { get; init; } = Environment.ProcessorCount * 2;
}
