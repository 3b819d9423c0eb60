using Arca.Repo;
using Arca.Sources.Postgres;
using Arca.Storage.Local;
using Arca.TestKit;
using Arca.Trees;
using Npgsql;

namespace Arca.Postgres.Tests;

/// <summary>A table's load from a snapshot entry that cannot be read fails with the reason, however early it fails.</summary>
public sealed class TableLoadTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_delta_entry_that_does_not_say_where_its_base_ends_fails_the_load_instead_of_leaving_it_waiting(bool digest)
    {
        // The entry's rows cannot even be opened: the reader fails before its first read. It must still end the
        // stream of rows the connection waits on (before 47e3a68 it did not, and the load waited for ever).
        await using var sandbox = await PgSandbox.CreateAsync();
        var url = await sandbox.NewDatabaseAsync("CREATE TABLE public.t (id bigint PRIMARY KEY, v text)");
        await using var repository = await sandbox.OpenRepositoryAsync();
        var node = new Node
        {
            Name = "public.t",
            Type = NodeType.File,
            Content = [],
            Table = new TableInfo
            {
                Engine = "postgresql",
                Schema = "public",
                Name = "t",
                Columns = [new TableColumn("id", "bigint", NotNull: true), new TableColumn("v", "text")],
                Key = ["id"],
                Format = PostgresBackup.Format,
                Checksum = "",
                Kind = RowDelta.Kind,
                Base = null,
            },
        };
        await using var connection = new NpgsqlConnection(PgTestServer.ConnectionString(PgTestServer.DatabaseName(url)));
        await connection.OpenAsync();

        var load = TableLoad.RunAsync(repository, node, connection, "COPY public.t (id, v) FROM STDIN", freeze: null, digest, CancellationToken.None);

        var error = await Should.ThrowAsync<InvalidDataException>(load.WaitAsync(TimeSpan.FromSeconds(30)));
        error.Message.ShouldContain("does not say where its base ends");
        (await PgTestServer.ScalarAsync<long>(PgTestServer.DatabaseName(url), "SELECT count(*) FROM public.t")).ShouldBe(0);
    }
}
