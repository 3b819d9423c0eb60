using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace Arca.TestKit;

/// <summary>
/// The PostgreSQL server the tests run against: Debian's postgresql on 127.0.0.1, started at most once per test
/// process through <c>scripts/pg-server start</c> (which installs it the first time and reuses a running one), so
/// a plain <c>dotnet test</c> works as well as the README's test command. Every caller gets a database of its
/// own (<see cref="NewDatabaseAsync"/>). The role <c>arca</c> (password <c>arca</c>) is a superuser.
/// Port: ARCA_TEST_PG_PORT, default 45661.
/// </summary>
public static partial class PgTestServer
{
    public const string Host = "127.0.0.1";
    public const string User = "arca";
    public const string Password = "arca";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static bool _started;

    public static int Port { get; } =
        int.TryParse(System.Environment.GetEnvironmentVariable("ARCA_TEST_PG_PORT"), out var port) ? port : 45661;

    /// <summary>
    /// The variables a child arca process needs to reach the server besides the URL: none, the URL
    /// (<c>postgresql://arca:arca@...</c>) carries the password.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ClientEnvironment { get; } = new Dictionary<string, string>();

    /// <summary>Runs <c>scripts/pg-server start</c> the first time it is called in this process.</summary>
    public static async Task EnsureStartedAsync(CancellationToken cancellationToken = default)
    {
        await Gate.WaitAsync(cancellationToken);
        try
        {
            if (!_started)
            {
                await StartAsync(cancellationToken);
                _started = true;
            }
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>The libpq URL of a database: <c>postgresql://arca:arca@127.0.0.1:PORT/NAME</c>.</summary>
    public static string Url(string database) =>
        $"postgresql://{User}:{Password}@{Host}:{Port.ToString(CultureInfo.InvariantCulture)}/{Uri.EscapeDataString(database)}";

    /// <summary>The database named by a URL from <see cref="Url"/> or <see cref="NewDatabaseAsync"/>.</summary>
    public static string DatabaseName(string url) => Uri.UnescapeDataString(new Uri(url).AbsolutePath.TrimStart('/'));

    /// <summary>The Npgsql connection string of a database (no pooling: a test may drop or copy it right after).</summary>
    public static string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = Host,
            Port = Port,
            Username = User,
            Password = Password,
            Database = database,
            Pooling = false,
        }.ConnectionString;

    /// <summary>
    /// A new database named <c>t_</c> and 20 hex digits, empty or copied from <paramref name="template"/> (which must
    /// have no open connections); returns its URL (<c>postgresql://arca:arca@127.0.0.1:PORT/NAME</c>).
    /// </summary>
    public static async Task<string> NewDatabaseAsync(string? template = null, CancellationToken cancellationToken = default)
    {
        var name = "t_" + Guid.NewGuid().ToString("N")[..20];
        var sql = $"CREATE DATABASE {QuoteIdentifier(name)}";
        if (template is not null)
        {
            sql += $" TEMPLATE {QuoteIdentifier(template)}";
        }
        await ExecuteAsync("postgres", sql, cancellationToken);
        return Url(name);
    }

    /// <summary>Drops a database, closing its connections first; nothing happens if there is none.</summary>
    public static Task DropDatabaseAsync(string database, CancellationToken cancellationToken = default) =>
        ExecuteAsync("postgres", $"DROP DATABASE IF EXISTS {QuoteIdentifier(database)} WITH (FORCE)", cancellationToken);

    /// <summary>Runs SQL (one or more statements) in a database.</summary>
    public static async Task ExecuteAsync(string database, string sql, CancellationToken cancellationToken = default)
    {
        await EnsureStartedAsync(cancellationToken);
        await using var connection = new NpgsqlConnection(ConnectionString(database));
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The first column of the first row of a query, or default when there is no row or it is NULL.</summary>
    public static async Task<T?> ScalarAsync<T>(string database, string sql, CancellationToken cancellationToken = default)
    {
        await EnsureStartedAsync(cancellationToken);
        await using var connection = new NpgsqlConnection(ConnectionString(database));
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await using DbDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken) || await reader.IsDBNullAsync(0, cancellationToken))
        {
            return default;
        }
        return await reader.GetFieldValueAsync<T>(0, cancellationToken);
    }

    /// <summary>
    /// The plain-SQL dump of a database (<c>pg_dump</c>), to compare two databases; throws with pg_dump's errors if
    /// it fails. pg_dump 15.14 and later put a random key in every dump (<c>\restrict KEY</c> ... <c>\unrestrict
    /// KEY</c>, against CVE-2025-8714): it is replaced by a fixed one, so equal databases give equal dumps.
    /// </summary>
    public static Task<string> PgDumpAsync(string database, CancellationToken cancellationToken = default) =>
        PgDumpAsync(database, [], cancellationToken);

    /// <summary>pg_dump of <paramref name="database"/> with <paramref name="options"/> (e.g. --schema-only).</summary>
    public static async Task<string> PgDumpAsync(string database, IReadOnlyList<string> options, CancellationToken cancellationToken = default)
    {
        await EnsureStartedAsync(cancellationToken);
        var dump = await RunClientAsync("pg_dump", [.. ServerArguments(), .. options, database], cancellationToken);
        return RestrictKey().Replace(dump, "$1 arcatest");
    }

    [GeneratedRegex(@"^(\\restrict|\\unrestrict) [A-Za-z0-9]+$", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex RestrictKey();

    /// <summary>
    /// A fingerprint of a table's rows: "COUNT:MD5", the md5 of every row's text form (<c>t::text</c>) joined by
    /// newlines in <paramref name="orderBy"/> order, over the rows matching <paramref name="where"/>. Equal
    /// fingerprints mean equal rows; a test compares one taken before an operation with one taken after.
    /// <paramref name="table"/> is SQL (e.g. <c>public.orders</c>), as are the other two.
    /// </summary>
    public static async Task<string> TableChecksumAsync(string database, string table, string orderBy, string where = "true",
        CancellationToken cancellationToken = default)
    {
        var sql = $"SELECT count(*)::text || ':' || md5(coalesce(string_agg(t::text, E'\\n' ORDER BY {orderBy}), '')) FROM {table} AS t WHERE {where}";
        return await ScalarAsync<string>(database, sql, cancellationToken)
            ?? throw new InvalidOperationException($"No checksum for {table} in {database}.");
    }

    /// <summary>The rows of a query, each row's columns as text (NULL as null), in the order the query gives.</summary>
    public static async Task<List<string?[]>> RowsAsync(string database, string sql, CancellationToken cancellationToken = default)
    {
        await EnsureStartedAsync(cancellationToken);
        await using var connection = new NpgsqlConnection(ConnectionString(database));
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await using DbDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<string?[]>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = new string?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = await reader.IsDBNullAsync(i, cancellationToken) ? null : Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture);
            }
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>Runs SQL with psql (<c>-X -v ON_ERROR_STOP=1 -At -c SQL</c>) and returns what it prints.</summary>
    public static async Task<string> PsqlAsync(string database, string sql, CancellationToken cancellationToken = default)
    {
        await EnsureStartedAsync(cancellationToken);
        return await RunClientAsync(
            "psql", ["-X", "-v", "ON_ERROR_STOP=1", "-At", .. ServerArguments(), "-d", database, "-c", sql], cancellationToken);
    }

    /// <summary>Fills a database with pgbench's tables (<c>pgbench -i -s SCALE -q</c>; scale 1 is 100,000 accounts).</summary>
    public static async Task RunPgbenchInitAsync(string database, int scale, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(scale, 1);
        await EnsureStartedAsync(cancellationToken);
        await RunClientAsync(
            "pgbench", ["-i", "-s", scale.ToString(CultureInfo.InvariantCulture), "-q", .. ServerArguments(), database],
            cancellationToken);
    }

    private static string[] ServerArguments() =>
        ["-h", Host, "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", User];

    private static string QuoteIdentifier(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static async Task StartAsync(CancellationToken cancellationToken)
    {
        var script = Path.Combine(ArcaBinary.RepositoryRoot, "scripts", "pg-server");
        var start = new ProcessStartInfo("bash", [script, "start"]);
        start.Environment["PGTEST_PORT"] = Port.ToString(CultureInfo.InvariantCulture);
        // Never wipe a server that the test command (or another test process) started and uses.
        start.Environment["PGTEST_RESET"] = "0";
        var (exitCode, output, errors) = await RunAsync(start, cancellationToken);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"scripts/pg-server start failed ({exitCode}):\n{output}\n{errors}");
        }
    }

    /// <summary>Runs a PostgreSQL client program against the server; returns its output, throws with its errors.</summary>
    private static async Task<string> RunClientAsync(string tool, string[] arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(FindTool(tool), arguments);
        start.Environment["PGPASSWORD"] = Password;
        start.Environment["PGCONNECT_TIMEOUT"] = "30";
        // Nothing from the caller's environment may redirect the client elsewhere.
        foreach (var name in new[] { "PGSERVICE", "PGSERVICEFILE", "PGPASSFILE", "PGOPTIONS", "PGSSLMODE", "PGTARGETSESSIONATTRS" })
        {
            start.Environment.Remove(name);
        }
        var (exitCode, output, errors) = await RunAsync(start, cancellationToken);
        if (exitCode != 0)
        {
            throw new InvalidOperationException(
                $"{tool} {string.Join(' ', arguments)} failed ({exitCode}):\n{errors}");
        }
        return output;
    }

    private static async Task<(int ExitCode, string Output, string Errors)> RunAsync(
        ProcessStartInfo start, CancellationToken cancellationToken)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.RedirectStandardInput = true;
        start.UseShellExecute = false;
        using var process = Process.Start(start)
            ?? throw new InvalidOperationException($"Could not run {start.FileName}.");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var errors = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await output, await errors);
    }

    /// <summary>A client program: from PATH, else from the newest /usr/lib/postgresql/VERSION/bin.</summary>
    private static string FindTool(string name)
    {
        var path = System.Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var folder in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        const string Versions = "/usr/lib/postgresql";
        if (Directory.Exists(Versions))
        {
            var newest = Directory.GetDirectories(Versions)
                .Select(folder => Path.Combine(folder, "bin", name))
                .Where(File.Exists)
                .OrderByDescending(
                    candidate => int.TryParse(
                        Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(candidate))),
                        NumberStyles.None, CultureInfo.InvariantCulture, out var version) ? version : -1)
                .FirstOrDefault();
            if (newest is not null)
            {
                return newest;
            }
        }
        throw new InvalidOperationException(
            $"{name} was not found on PATH nor in {Versions}/*/bin (packages postgresql-client, postgresql-contrib).");
    }
}
