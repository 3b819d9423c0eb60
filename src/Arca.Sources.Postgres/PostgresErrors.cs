using System.Net.Sockets;
using Npgsql;

namespace Arca.Sources.Postgres;

/// <summary>
/// The one place that turns what Npgsql and the server throw into errors a user can mend: a refused
/// connection, a failed login and a missing database each get their own code and a hint.
/// </summary>
internal static class PostgresErrors
{
    /// <summary>
    /// One data source per connection string, for the life of the process (they pool nothing: see
    /// <see cref="PostgresLocation.ConnectionString"/>). None loads the server's types: Arca reads only built-in types
    /// through Npgsql (rows travel as COPY text), and the catalog query that loads them cost each process 40 ms before
    /// its first statement, on a backup's critical path.
    /// </summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, NpgsqlDataSource> DataSources = new();

    /// <summary>
    /// Opens a connection, translating the failures of connecting into their own codes. The session prints
    /// values the way pg_dump's does (ISO dates, UTC, exact floats, hex bytea), so that a table's COPY text is
    /// the same whichever session reads it: a restore's checksum is compared with the backup's.
    /// </summary>
    public static async Task<NpgsqlConnection> OpenAsync(PostgresLocation location, CancellationToken cancellationToken)
    {
        var connection = DataSources.GetOrAdd(location.ConnectionString().ConnectionString, static connectionString =>
        {
            var builder = new NpgsqlDataSourceBuilder(connectionString);
            builder.ConfigureTypeLoading(types => types.EnableTypeLoading(false));
            return builder.Build();
        }).CreateConnection();
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var cmd = new NpgsqlCommand(SessionSettings, connection);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch (Exception ex) when (Translate(ex, location) is { } error)
        {
            await connection.DisposeAsync();
            throw error;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// A command for SQL that holds text from the user (a row filter): written with one positional parameter,
    /// which makes Npgsql send it as it is through the extended protocol, where the server accepts exactly one
    /// statement. A filter like "true); COMMIT; DROP TABLE t; SELECT (1" then fails to parse instead of running.
    /// The SQL must use <c>$1</c> once, as a boolean that is true.
    /// </summary>
    public static NpgsqlCommand SingleStatement(string sql, NpgsqlConnection connection)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = true, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Boolean });
        return command;
    }

    /// <summary>Runs SQL written by Arca (no user text: see <see cref="SingleStatement"/>); returns the rows it changed.</summary>
    public static async Task<int> ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var cmd = new NpgsqlCommand(sql, connection);
        return await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// How every session Arca opens prints values (see <see cref="OpenAsync"/>). Synchronized scans are off so a
    /// sequential read starts at the table's first page: a restore's read-back of a freshly loaded table then
    /// gives its rows in load order (the server otherwise joins a recent scan of the same table mid-way).
    /// Row-level security is off, as pg_dump sets it: a read that a policy would filter fails instead of returning
    /// some of the rows (a backup missing rows nobody was told of, or a restore's check of a table half seen).
    /// No timeouts, as pg_dump sets none: a database or role set up with a statement timeout for its applications
    /// would otherwise stop a large table's COPY, or end the backup's idle main transaction, midway.
    /// </summary>
    public const string SessionSettings =
        "SET datestyle = ISO, YMD; SET intervalstyle = postgres; SET extra_float_digits = 3; SET timezone = 'UTC'; SET bytea_output = hex; " +
        "SET synchronize_seqscans = off; SET row_security = off; " +
        "SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0";

    /// <summary>
    /// The server's detail of an error, unless Npgsql held it back: it says so in the detail's place when the detail may
    /// hold a row's values (and the connection did not ask for them), which is no use to print.
    /// </summary>
    private static string? Detail(PostgresException pg) =>
        pg.Detail is { Length: > 0 } detail && !detail.StartsWith("Detail redacted", StringComparison.Ordinal) ? detail : null;

    /// <summary>
    /// A lock on a table was not had: NOWAIT, or past the lock timeout a backup sets once it holds its tables (a schema
    /// change queued behind the backup's locks would otherwise hold its later ones up for ever, waiting for the backup).
    /// </summary>
    public static ArcaException LockNotHad(string detail, Exception inner) => new(ErrorCode.DatabaseBusy,
        $"Another session holds or waits for a lock this needs, to change a table (ALTER TABLE, TRUNCATE, REINDEX): {detail}.",
        "Run it again once that change is done (pg_stat_activity shows who waits for whom).", inner);

    /// <summary>
    /// How long a backup's sessions wait for a lock once they hold their tables': what they still lock (indexes, tables a
    /// --where reads) only waits that long behind another session's schema change.
    /// </summary>
    public const string BackupLockTimeout = "SET lock_timeout = '5s'";

    /// <summary>An <see cref="ArcaException"/> for a database failure, or null for anything else (a bug, a cancellation).</summary>
    public static ArcaException? Translate(Exception ex, PostgresLocation location)
    {
        var where = $"{location.Host}:{location.Port}";
        switch (ex)
        {
            case ArcaException:
                return null;
            case Native.PgNativeException { SqlState: { } state } native:
                return Translate(new PostgresException(native.Message, native.Severity ?? "ERROR", native.Severity ?? "ERROR", state, native.Detail, native.Hint), location);
            case Native.PgNativeException native:
                // No SQLSTATE: libpq itself failed (the connection dropped in the middle of a COPY, say).
                return new ArcaException(ErrorCode.DatabaseUnreachable,
                    $"The connection to the PostgreSQL server at {where} failed: {native.Message.Split('\n')[0]}",
                    "Check the network and the server's log, then run the command again.", ex);
            case PostgresException pg:
                return pg.SqlState switch
                {
                    "28P01" or "28000" => new ArcaException(ErrorCode.DatabaseLoginFailed,
                        $"The PostgreSQL server at {where} refused the login of '{location.User}': {pg.MessageText}.",
                        "Check the user and password (in the URL, PGPASSWORD or ~/.pgpass).", ex),
                    "3D000" => new ArcaException(ErrorCode.DatabaseNotFound,
                        $"The PostgreSQL server at {where} has no database '{location.Database}'.",
                        "Check the name (psql -l lists them), or create it first.", ex),
                    "42501" when pg.MessageText.Contains("row-level security", StringComparison.Ordinal) => new ArcaException(ErrorCode.DatabaseFailed,
                        $"PostgreSQL at {where} hides some rows from '{location.User}' by a row-level security policy: {pg.MessageText}.",
                        "Connect as the table's owner, a superuser or a role with BYPASSRLS, so that no row is left out.", ex),
                    "55P03" => LockNotHad(pg.MessageText, ex),
                    "57P01" or "57P02" or "57P03" => new ArcaException(ErrorCode.DatabaseUnreachable,
                        $"The PostgreSQL server at {where} is shutting down or starting: {pg.MessageText}.",
                        "Run the command again once the server is up.", ex),
                    _ => new ArcaException(ErrorCode.DatabaseFailed,
                        $"PostgreSQL at {where} reported an error: {pg.MessageText}{(Detail(pg) is { } d ? $" ({d})" : "")}.",
                        pg.Hint is { Length: > 0 } h ? h : "Mend the cause and run the command again.", ex),
                };
            case NpgsqlException { InnerException: SocketException socket }:
                return new ArcaException(ErrorCode.DatabaseUnreachable,
                    socket.SocketErrorCode == SocketError.ConnectionRefused
                        ? $"Nothing accepts connections at {where}: connection refused."
                        : $"The PostgreSQL server at {where} cannot be reached: {socket.Message}.",
                    "Check the host and port, and that the server is running.", ex);
            case NpgsqlException { InnerException: TimeoutException or IOException or EndOfStreamException } npgsql:
                return new ArcaException(ErrorCode.DatabaseUnreachable,
                    $"The connection to the PostgreSQL server at {where} failed: {npgsql.InnerException!.Message}",
                    "Check the network and the server's log, then run the command again.", ex);
            case NpgsqlException npgsql when npgsql.Message.Contains("password", StringComparison.OrdinalIgnoreCase):
                return new ArcaException(ErrorCode.DatabaseLoginFailed,
                    $"The PostgreSQL server at {where} wants a password for '{location.User}', and none was given.",
                    "Put it in the URL, in PGPASSWORD, or in ~/.pgpass.", ex);
            case NpgsqlException npgsql:
                return new ArcaException(ErrorCode.DatabaseUnreachable,
                    $"The PostgreSQL server at {where} cannot be used: {npgsql.Message}",
                    "Check the host, port and server.", ex);
            case TimeoutException:
                return new ArcaException(ErrorCode.DatabaseUnreachable,
                    $"The PostgreSQL server at {where} did not answer in time.", "Check the host, port and network.", ex);
            default:
                return null;
        }
    }
}
