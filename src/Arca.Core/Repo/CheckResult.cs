namespace Arca.Repo;

/// <summary>What check found. The repository is whole when <see cref="Problems"/> is empty.</summary>
public sealed record CheckResult
{
    public required int Snapshots { get; init; }
    public required int Trees { get; init; }
    public required int IndexedBlobs { get; init; }
    public required int Packs { get; init; }
    public required int PacksRead { get; init; }
    public required long BytesRead { get; init; }
    /// <summary>Packs no index names: left by an interrupted backup, harmless, removed by prune.</summary>
    public required int UnreferencedPacks { get; init; }
    public required IReadOnlyList<string> Problems { get; init; }
    public required IReadOnlyList<DamagedPack> DamagedPacks { get; init; }
    public bool IsWhole => Problems.Count == 0 && DamagedPacks.Count == 0;
}

/// <summary>A pack that failed its read check, and the snapshot files whose data it holds.</summary>
public sealed record DamagedPack(PackId Pack, string Reason, IReadOnlyList<AffectedFile> AffectedFiles);

public sealed record AffectedFile(SnapshotId Snapshot, string Path);
