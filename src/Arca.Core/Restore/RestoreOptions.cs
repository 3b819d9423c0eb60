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
    /// Packs read at once, each writing its blobs into their files (at most 8, see <see cref="Restorer"/>). One
    /// more than the cores for a local folder: file creation waits on the file system, but more writers than
    /// that only contend for the same folder's lock (measured here, when files were written one per worker: 3 as
    /// fast as 4, 8 slower). A remote repository's restore asks for its connection count, to hide latency.
    /// </summary>
    public int Workers { get; init; } = Environment.ProcessorCount + 1;
}
