namespace Arca.Sources.Sqlite;

/// <summary>A SQLite database named on the command line as <c>sqlite:PATH</c>.</summary>
public sealed record SqliteLocation
{
    public const string Prefix = "sqlite:";

    private SqliteLocation(string path) => Path = path;

    /// <summary>The database file's absolute path.</summary>
    public string Path { get; }

    /// <summary>The name the database has in a snapshot: its file name.</summary>
    public string EntryName => System.IO.Path.GetFileName(Path);

    public string Display => Prefix + Path;

    public static bool IsSqliteSource(string source) => source.StartsWith(Prefix, StringComparison.Ordinal);

    public static SqliteLocation Parse(string source)
    {
        var path = IsSqliteSource(source) ? source[Prefix.Length..] : source;
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ArcaException(ErrorCode.Usage, $"'{source}' names no database file.", "Write it as sqlite:PATH, e.g. sqlite:/var/lib/app/app.db.");
        }
        return new SqliteLocation(System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(path)));
    }
}
