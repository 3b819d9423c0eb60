namespace Arca.Sources.Sqlite;

/// <summary>
/// A database file of Arca's own in the machine's temporary folder (a backup's copy of a WAL-mode database, a
/// snapshot's file written out for a table restore). Disposing deletes it with the journal, WAL and shared-memory
/// files SQLite creates beside it: opening a WAL-mode file creates the last two, even read-only, and a read-only
/// connection leaves them behind when it closes.
/// </summary>
public sealed class TemporaryDatabase : IDisposable
{
    private TemporaryDatabase(string path) => Path = path;

    /// <summary>Where the file is (or will be: nothing is created).</summary>
    public string Path { get; }

    public static TemporaryDatabase Create() =>
        new(System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"arca-sqlite-{Guid.NewGuid():N}.db"));

    public void Dispose() => SqliteFile.DeleteWithCompanions(Path);
}
