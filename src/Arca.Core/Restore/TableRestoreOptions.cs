namespace Arca.Restore;

public enum TableRestoreMode
{
    /// <summary>Insert the snapshot's rows whose key the live table lacks; leave every live row alone.</summary>
    InsertMissing,
    /// <summary>Insert missing rows and overwrite live rows that differ from the snapshot's (by key).</summary>
    Upsert,
    /// <summary>Make the table (or the rows matching the filter) what the snapshot holds: also delete live rows it lacks.</summary>
    Replace,
}

/// <summary>How to restore tables into a live database, whatever its engine.</summary>
public sealed record TableRestoreOptions
{
    public TableRestoreMode Mode { get; init; } = TableRestoreMode.InsertMissing;
    public bool DryRun { get; init; }
    /// <summary>Restore into this table instead of the one the rows came from (one table only).</summary>
    public string? Into { get; init; }
    /// <summary>Restore only the snapshot's rows matching this SQL condition (in replace mode, delete only live rows matching it).</summary>
    public string? Filter { get; init; }
    public int SampleSize { get; init; } = 5;
}

/// <summary>What a table restore found (and, unless it was a dry run, did), by primary key.</summary>
public sealed record TableRestoreResult
{
    public required string Table { get; init; }
    public required string Target { get; init; }
    public long SnapshotRows { get; init; }
    public long Insert { get; init; }
    public long Update { get; init; }
    public long Unchanged { get; init; }
    public long Delete { get; init; }
    public IReadOnlyList<string> SampleInsert { get; init; } = [];
    public IReadOnlyList<string> SampleUpdate { get; init; } = [];
    public IReadOnlyList<string> SampleDelete { get; init; } = [];
    public bool Applied { get; init; }
    /// <summary>After applying: every snapshot row the mode promises is in the table (compared again by key and value).</summary>
    public bool Verified { get; init; }
    /// <summary>What the restore adjusted after the merge, one sentence each: sequences moved past the restored keys, search indexes rebuilt.</summary>
    public IReadOnlyList<string> Adjustments { get; init; } = [];
}
