using System.Globalization;
using Arca.TestKit;
using Microsoft.Data.Sqlite;

namespace Arca.Sqlite.Tests;

/// <summary>
/// A writer commits transactions while arca backs the database up, several times over: each transaction inserts
/// a batch of rows under one transaction number, moves an amount between two accounts (the total never changes)
/// and records itself as the last one done, in separate statements, so a copy taken in the middle of one would
/// show it. Every restored copy holds whole transactions only: every batch complete, the total intact, the last
/// one recorded equal to the highest batch, and no gap before it. And it holds at least every transaction
/// committed before its backup started, and none that began after it ended.
/// </summary>
public sealed class WriterDuringBackupTests
{
    private const int Accounts = 40;
    private const long Opening = 1_000;
    private const int RowsPerTransaction = 20;
    private const int Backups = 4;

    private const string Schema = """
        CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
        CREATE TABLE batches (id INTEGER PRIMARY KEY, txn INTEGER NOT NULL, n INTEGER NOT NULL, payload TEXT NOT NULL);
        CREATE INDEX batches_txn ON batches(txn);
        CREATE TABLE progress (id INTEGER PRIMARY KEY CHECK (id = 1), last_txn INTEGER NOT NULL);
        INSERT INTO progress VALUES (1, 0);
        -- 4 MiB that the writer never touches, so that each copy takes a while.
        CREATE TABLE archive (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2048) INSERT INTO archive SELECT i, randomblob(2048) FROM n;
        """;

    /// <summary>Commits transactions 1, 2, 3, ... until stopped; counts those whose commit returned.</summary>
    private sealed class Writer(string path) : IDisposable
    {
        private readonly SemaphoreSlim _committedOne = new(0);
        private long _committed;

        public long Committed => Interlocked.Read(ref _committed);

        public Task RunAsync(CancellationToken stop) => Task.Run(async () =>
        {
            using var connection = Connections.Open(path);
            var random = new Random(5);
            for (var txn = 1L; !stop.IsCancellationRequested; txn++)
            {
                using (var transaction = connection.BeginTransaction(deferred: false))
                {
                    for (var n = 0; n < RowsPerTransaction; n++)
                    {
                        connection.Execute($"INSERT INTO batches (txn, n, payload) VALUES ({txn}, {n}, '{new string((char)('a' + n), 16)}')", transaction);
                    }
                    var from = random.Next(1, Accounts + 1);
                    var to = random.Next(1, Accounts + 1);
                    var amount = random.Next(1, 50);
                    connection.Execute($"UPDATE accounts SET balance = balance - {amount} WHERE id = {from}", transaction);
                    connection.Execute($"UPDATE accounts SET balance = balance + {amount} WHERE id = {to}", transaction);
                    connection.Execute($"UPDATE progress SET last_txn = {txn}", transaction);
                    transaction.Commit();
                }
                Interlocked.Increment(ref _committed);
                _committedOne.Release();
                // A breath between transactions, as an application takes: in rollback-journal mode a writer that locks
                // again at once starves every reader (their busy handler sleeps, then finds the file locked again),
                // and the backup would only wait for its timeout.
                await Task.Delay(1, CancellationToken.None);
            }
        }, CancellationToken.None);

        /// <summary>Waits until at least <paramref name="count"/> transactions were committed (or the writer failed).</summary>
        public async Task WaitForAsync(long count, Task writing)
        {
            while (Committed < count)
            {
                if (writing.IsCompleted)
                {
                    await writing;
                    throw new Xunit.Sdk.XunitException("The writer stopped early.");
                }
                await _committedOne.WaitAsync(TimeSpan.FromSeconds(1));
            }
        }

        public void Dispose() => _committedOne.Dispose();
    }

    [Theory]
    [InlineData("wal")]
    [InlineData("delete")]
    public async Task Every_restored_copy_holds_each_transaction_of_a_busy_writer_wholly_or_not_at_all(string journalMode)
    {
        using var sandbox = await SqliteSandbox.CreateAsync();
        var database = sandbox.Path("bank.db");
        using (var setup = Connections.Open(database))
        {
            setup.Execute($"PRAGMA journal_mode = {journalMode}");
            setup.Execute(Schema);
            setup.Execute($"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {Accounts}) INSERT INTO accounts SELECT i, {Opening} FROM n");
        }
        (await Sqlite3.QueryAsync(database, "PRAGMA journal_mode")).ShouldBe(journalMode);

        using var writer = new Writer(database);
        using var stop = new CancellationTokenSource();
        var writing = writer.RunAsync(stop.Token);
        var snapshots = new List<(string Id, long CommittedBefore, long CommittedAfter)>();
        try
        {
            for (var i = 0; i < Backups; i++)
            {
                // Some transactions before each backup, so that every snapshot has something new.
                await writer.WaitForAsync(writer.Committed + 25, writing);
                var before = writer.Committed;
                var (id, _) = await sandbox.BackupAsync("sqlite:" + database);
                snapshots.Add((id, before, writer.Committed));
            }
        }
        finally
        {
            await stop.CancelAsync();
            await writing;
        }
        // The writer was busy while the backups ran (otherwise this test would prove nothing).
        snapshots.Sum(s => s.CommittedAfter - s.CommittedBefore).ShouldBeGreaterThan(0);

        long previous = 0;
        foreach (var (id, committedBefore, committedAfter) in snapshots)
        {
            var restored = sandbox.Path($"restored-{id[..8]}.db");
            (await sandbox.RunAsync("restore", id, "--sqlite", "bank.db", "--target", restored)).ShouldSucceed();
            await Sqlite3.ShouldBeIntactAsync(restored);
            var last = await Sqlite3.CountAsync(restored, "SELECT last_txn FROM progress");
            var facts = await Sqlite3.QueryAsync(restored,
                "SELECT (SELECT count(*) FROM (SELECT txn FROM batches GROUP BY txn HAVING count(*) <> " + RowsPerTransaction.ToString(CultureInfo.InvariantCulture) + ")), " +
                "(SELECT coalesce(max(txn), 0) FROM batches), (SELECT count(DISTINCT txn) FROM batches), (SELECT count(*) FROM batches), " +
                "(SELECT sum(balance) FROM accounts)");
            // No torn batch; the last transaction recorded is the highest batch; no transaction missing before it; the total kept.
            facts.ShouldBe(string.Join('|', 0, last, last, last * RowsPerTransaction, Accounts * Opening), $"snapshot {id[..8]}");
            // Everything committed before the backup started is in it; nothing begun after it ended.
            last.ShouldBeInRange(committedBefore, committedAfter + 1, $"snapshot {id[..8]}");
            last.ShouldBeGreaterThanOrEqualTo(previous);
            previous = last;
            // The manifest counted the rows of the copy it stored.
            var tables = SqliteSandbox.TablesOf(await sandbox.DatabaseNodeAsync("bank.db", id));
            tables.Single(t => t.Name == "batches").Rows.ShouldBe(last * RowsPerTransaction);
        }
    }
}
