using Arca.Cli.Output;
using Arca.Operations;
using Arca.Restore;
using Arca.Sources.Postgres;

namespace Arca.Cli.Commands;

/// <summary>Runs <c>arca restore ... --to postgresql://...</c> and prints what it found and did.</summary>
internal static class DatabaseRestorePrinter
{
    public static async Task<int> RunAsync(CommandContext context, DatabaseRestoreRequest request, bool yes, CancellationToken ct)
    {
        request.Validate();
        var operation = new DatabaseRestoreOperation();
        if (request.Tables.Count == 0)
        {
            // The target is reached and checked empty while the repository opens (the password's key derivation alone
            // takes about 0.15 s); the repository's errors come first. On a thread of its own: the first connection's
            // set-up runs for about 35 ms before it awaits anything, and the repository would wait for it.
            using var stopCheck = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var targetLocation = PostgresLocation.Parse(request.To);
            var targetChecked = Task.Run(() => DatabaseRestore.CheckTargetAsync(targetLocation, stopCheck.Token), CancellationToken.None);
            try
            {
                await using var session = await context.OpenAsync(LockKind.None, "restore", loadIndex: true, ct);
                var (id, result) = await operation.RestoreDatabaseAsync(session, request, targetChecked, ct);
                PrintDatabase(context, id.ToString(), request, result);
                return result.Verified ? ExitCodes.Success : ExitCodes.RepositoryDamaged;
            }
            catch
            {
                // Whatever fails before the restore has awaited the check (the repository, the snapshot, the lock) stops
                // it and waits for it: its connection closes, and its own error, if any, adds nothing.
                await stopCheck.CancelAsync();
                await targetChecked.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                throw;
            }
        }
        if (!request.TableOptions.DryRun && !yes)
        {
            throw new ArcaException(ErrorCode.Usage, "Restoring tables changes a live database, and --yes was not given.",
                "Run it with --dry-run to see what would change, then with --yes to do it.");
        }
        await using (var session = await context.OpenAsync(LockKind.None, "restore", loadIndex: true, ct))
        {
            var (id, results) = await operation.RestoreTablesAsync(session, request, ct);
            PrintTables(context, id.ToString(), request, results);
        }
        return ExitCodes.Success;
    }

    private static void PrintTables(CommandContext context, string snapshot, DatabaseRestoreRequest request, List<TableRestoreResult> results)
    {
        var dryRun = request.TableOptions.DryRun;
        var mode = request.TableOptions.Mode;
        if (context.Json)
        {
            JsonOut.Write(context.Console.Out, w =>
            {
                w.WriteStartObject();
                w.WriteString("snapshot", snapshot);
                w.WriteBoolean("dry_run", dryRun);
                w.WriteString("mode", ModeName(mode));
                w.WriteStartArray("tables");
                foreach (var r in results)
                {
                    w.WriteStartObject();
                    w.WriteString("table", r.Table);
                    w.WriteString("target", r.Target);
                    w.WriteNumber("snapshot_rows", r.SnapshotRows);
                    w.WriteNumber("insert", r.Insert);
                    w.WriteNumber("update", r.Update);
                    w.WriteNumber("unchanged", r.Unchanged);
                    w.WriteNumber("delete", r.Delete);
                    WriteList(w, "sample_insert", r.SampleInsert);
                    WriteList(w, "sample_update", r.SampleUpdate);
                    WriteList(w, "sample_delete", r.SampleDelete);
                    w.WriteBoolean("applied", r.Applied);
                    w.WriteBoolean("verified", r.Verified);
                    WriteList(w, "adjustments", r.Adjustments);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
            return;
        }
        foreach (var r in results)
        {
            var into = r.Target == r.Table ? r.Table : $"{r.Table} into {r.Target}";
            // What the mode does with each kind of row: insert-missing leaves differing rows as they are.
            var updates = mode == TableRestoreMode.InsertMissing ? $"{r.Update:N0} differ (left as they are)" : $"{r.Update:N0} to update";
            var deletes = mode == TableRestoreMode.Replace ? $", {r.Delete:N0} to delete" : "";
            context.Say($"{into}: {r.SnapshotRows:N0} rows in the snapshot; {r.Insert:N0} to insert, {updates}, {r.Unchanged:N0} unchanged{deletes}");
            if (dryRun)
            {
                Sample(context, "insert", r.SampleInsert);
                Sample(context, mode == TableRestoreMode.InsertMissing ? "differ" : "update", r.SampleUpdate);
                Sample(context, "delete", r.SampleDelete);
            }
            foreach (var moved in r.Adjustments)
            {
                context.Say($"  {moved}");
            }
        }
        context.Say(dryRun
            ? $"dry run ({ModeName(mode)}): nothing was written"
            : $"restored {results.Count} table(s) from snapshot {snapshot[..8]} ({ModeName(mode)}); verified: the rows now match the snapshot");
    }

    private static void PrintDatabase(CommandContext context, string snapshot, DatabaseRestoreRequest request, DatabaseRestoreResult result)
    {
        if (context.Json)
        {
            JsonOut.Write(context.Console.Out, w =>
            {
                w.WriteStartObject();
                w.WriteString("snapshot", snapshot);
                w.WriteString("to", PostgresLocation.Parse(request.To).Display);
                w.WriteNumber("sequences", result.Sequences);
                w.WriteBoolean("verified", result.Verified);
                w.WriteBoolean("read_back", result.ReadBack);
                w.WriteStartArray("tables");
                foreach (var t in result.Tables)
                {
                    w.WriteStartObject();
                    w.WriteString("table", t.Table);
                    w.WriteNumber("rows", t.Rows);
                    w.WriteNumber("rows_restored", t.RowsAfter);
                    w.WriteBoolean("checksum_matches", t.ChecksumMatches);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
            return;
        }
        foreach (var t in result.Tables.Where(t => !t.ChecksumMatches || t.Rows != t.RowsAfter))
        {
            context.Console.Error.WriteLine($"arca: {t.Table}: the snapshot holds {t.Rows:N0} rows, the restored table {t.RowsAfter:N0}{(t.ChecksumMatches ? "" : ", and their checksums differ")}.");
        }
        context.Say($"restored database {request.Database} from snapshot {snapshot[..8]} into {PostgresLocation.Parse(request.To).Display}: " +
            $"{result.Tables.Count} tables, {result.Tables.Sum(t => t.RowsAfter):N0} rows, {result.Sequences} sequences; " +
            (!result.Verified ? "NOT verified: see above"
                : result.ReadBack ? "verified: every table's row count and checksum match the snapshot"
                : "every table's rows matched the snapshot's checksum as they loaded (not read back: --no-verify)"));
    }

    private static void Sample(CommandContext context, string what, IReadOnlyList<string> keys)
    {
        if (keys.Count > 0)
        {
            context.Say($"  e.g. {what}: {string.Join("; ", keys)}");
        }
    }

    private static void WriteList(System.Text.Json.Utf8JsonWriter w, string name, IReadOnlyList<string> items)
    {
        w.WriteStartArray(name);
        foreach (var item in items)
        {
            w.WriteStringValue(item);
        }
        w.WriteEndArray();
    }

    private static string ModeName(TableRestoreMode mode) => mode switch
    {
        TableRestoreMode.InsertMissing => "insert-missing",
        TableRestoreMode.Upsert => "upsert",
        _ => "replace",
    };
}
