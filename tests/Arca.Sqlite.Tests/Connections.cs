using Microsoft.Data.Sqlite;

namespace Arca.Sqlite.Tests;

/// <summary>The application's side: connections to a database file, as an application holds them.</summary>
internal static class Connections
{
    /// <summary>Opens (creating if needed) <paramref name="path"/>, unpooled so that disposing really closes it.</summary>
    public static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 60,
        }.ConnectionString);
        connection.Open();
        connection.Execute("PRAGMA busy_timeout = 60000");
        return connection;
    }

    public static void Execute(this SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        command.ExecuteNonQuery();
    }

    public static long Long(this SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Creates <paramref name="path"/> by running <paramref name="sql"/>, and closes it.</summary>
    public static void Create(string path, string sql)
    {
        using var connection = Open(path);
        connection.Execute(sql);
    }
}
