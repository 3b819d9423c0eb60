using System.CommandLine;
using Arca.Cli.Output;
using Arca.Operations;
using Arca.Restore;

namespace Arca.Cli.Commands;

public static class RestoreCommand
{
    public static Command Create(CliApp app)
    {
        var snapshot = new SnapshotArguments();
        var target = new Option<string?>("--target", "-t") { Description = "The folder to restore into (created if missing)." };
        var include = new Option<string[]>("--include", "-i") { Description = "Restore only this snapshot path and what is below it (repeatable)." };
        var exclude = new Option<string[]>("--exclude", "-e") { Description = "Leave out entries matching this glob (repeatable)." };
        var overwrite = new Option<string>("--overwrite")
        {
            Description = "What to do with files that exist: always (default), if-newer, skip.",
            DefaultValueFactory = _ => "always",
        };
        var dryRun = new Option<bool>("--dry-run", "-n") { Description = "Show what would be restored, and change nothing." };
        var to = new Option<string?>("--to") { Description = "Restore tables or a database into this live database: postgresql://USER[:PASSWORD]@HOST[:PORT]/DB or sqlite:PATH." };
        var sqlite = new Option<string?>("--sqlite") { Description = "Restore this SQLite database of the snapshot (its file name, as 'arca ls' shows it) as the file --target FILE." };
        var sqliteTimeout = new Option<double>("--sqlite-timeout") { Description = "Seconds to wait for a SQLite writer's lock before giving up.", DefaultValueFactory = _ => 30 };
        var table = new Option<string[]>("--table") { Description = "With --to: restore these tables (SCHEMA.TABLE, repeatable or comma-separated), in foreign-key order." };
        var database = new Option<string?>("--database") { Description = "With --to and no --table: restore this whole database of the snapshot into an empty one." };
        var into = new Option<string?>("--into") { Description = "With --table: restore into this table (SCHEMA.TABLE) instead." };
        var where = new Option<string?>("--where") { Description = "With --table: restore only the snapshot's rows matching this SQL condition." };
        var mode = new Option<string>("--mode")
        {
            Description = "With --table: insert-missing (default: add rows whose key is gone), upsert (also overwrite rows that differ), replace (also delete rows the snapshot lacks).",
            DefaultValueFactory = _ => "insert-missing",
        };
        var yes = new Option<bool>("--yes", "-y") { Description = "Go ahead and change the live tables (without it, a table restore asks for --dry-run or --yes), or replace an existing database file." };
        var jobs = new Option<int>("--jobs", "-j") { Description = "With --database: tables loaded at once.", DefaultValueFactory = _ => 2 };
        var noVerify = new Option<bool>("--no-verify")
        {
            Description = "With --database: do not read every table back once restored to compare its rows with the snapshot's (rows are still checked against the snapshot's checksum as they load).",
        };
        var splitTables = new Option<bool>("--split-tables")
        {
            Description = "With --database: a connection with no table left helps load a large one (32 MiB of rows or more): faster where the server has cores to spare, but those rows then lie in another physical order (pg_dump of the copy lists them in another order).",
        };
        var command = new Command("restore", "Restore a snapshot, or parts of it, into a folder; or its tables and databases into live databases.\nExit codes are listed in 'arca --help' and docs/exit-codes.md.")
        {
            target, include, exclude, overwrite, dryRun, to, table, database, into, where, mode, yes, jobs, noVerify, splitTables, sqlite, sqliteTimeout,
        };
        snapshot.AddTo(command);
        command.SetAction((parse, ct) => app.RunAsync(parse, async context =>
        {
            if (context.Get(noVerify) && context.Get(to) is null)
            {
                throw DatabaseRestoreRequest.NoVerifyMisplaced();
            }
            if (context.Get(splitTables) && context.Get(to) is null)
            {
                throw DatabaseRestoreRequest.SplitTablesMisplaced();
            }
            if (context.Get(sqlite) is { } sqliteName)
            {
                if (context.Get(to) is not null || context.Get(dryRun))
                {
                    throw new ArcaException(ErrorCode.Usage, "--sqlite restores a whole database file to --target FILE; --to and --dry-run do not apply.",
                        "To restore some tables into a live database, use --table T --to sqlite:PATH instead.");
                }
                var file = context.Get(target) ?? throw new ArcaException(ErrorCode.Usage, "--sqlite needs --target FILE: where to write the database.", "E.g. --sqlite app.db --target /var/lib/app/app.db.");
                await using var sqliteSession = await context.OpenAsync(LockKind.None, "restore", loadIndex: true, ct);
                var (sqliteId, restored) = await new DatabaseRestoreOperation().RestoreSqliteFileAsync(sqliteSession, snapshot.Selector(context), sqliteName, file, context.Get(yes), ct);
                if (context.Json)
                {
                    JsonOut.Write(context.Console.Out, w =>
                    {
                        w.WriteStartObject();
                        w.WriteString("snapshot", sqliteId.ToString());
                        w.WriteString("target", restored.Target);
                        w.WriteNumber("bytes", restored.Bytes);
                        w.WriteNumber("tables", restored.Tables);
                        w.WriteNumber("rows", restored.Rows);
                        w.WriteBoolean("replaced", restored.Replaced);
                        w.WriteBoolean("verified", true);
                        w.WriteEndObject();
                    });
                }
                else if (!context.Quiet)
                {
                    context.Say($"Restored {sqliteName} from snapshot {sqliteId.Short} to {restored.Target} ({Format.Bytes(restored.Bytes)}{(restored.Replaced ? ", replacing the file there" : "")}).");
                    context.Say($"Verified: integrity check ok; {restored.Tables} tables, {restored.Rows:N0} rows, every row count and checksum as backed up.");
                }
                return ExitCodes.Success;
            }
            if (context.Get(to) is { } toUrl)
            {
                if (context.Get(target) is not null)
                {
                    throw new ArcaException(ErrorCode.Usage, "--target (a folder) and --to (a database) cannot be used together.", "Pick one.");
                }
                var request = new DatabaseRestoreRequest
                {
                    Snapshot = snapshot.Selector(context),
                    To = toUrl,
                    Database = context.Get(database),
                    Tables = context.Get(table) ?? [],
                    Jobs = context.Get(jobs),
                    ReadBack = !context.Get(noVerify),
                    SplitTables = context.Get(splitTables),
                    SqliteTimeout = TimeSpan.FromSeconds(context.Get(sqliteTimeout)),
                    TableOptions = new TableRestoreOptions
                    {
                        Mode = context.Get(mode) switch
                        {
                            "insert-missing" => TableRestoreMode.InsertMissing,
                            "upsert" => TableRestoreMode.Upsert,
                            "replace" => TableRestoreMode.Replace,
                            var other => throw new ArcaException(ErrorCode.Usage, $"'{other}' is not a restore mode.", "Use --mode insert-missing, upsert or replace."),
                        },
                        DryRun = context.Get(dryRun),
                        Into = context.Get(into),
                        Filter = context.Get(where),
                    },
                };
                return await DatabaseRestorePrinter.RunAsync(context, request, context.Get(yes), ct);
            }
            var overwriteMode = context.Get(overwrite) switch
            {
                "always" => OverwriteMode.Always,
                "if-newer" => OverwriteMode.IfNewer,
                "skip" => OverwriteMode.Skip,
                var other => throw new ArcaException(ErrorCode.Usage, $"'{other}' is not an overwrite mode.", "Use --overwrite always, if-newer or skip."),
            };
            var fileRequest = new RestoreRequest
            {
                Snapshot = snapshot.Selector(context),
                Target = context.Get(target) ?? throw new ArcaException(ErrorCode.Usage, "No target was given.", "Pass --target DIR for files, or --to postgresql://... for tables and databases."),
                Includes = context.Get(include) ?? [],
                Excludes = context.Get(exclude) ?? [],
                Overwrite = overwriteMode,
                DryRun = context.Get(dryRun),
            };
            fileRequest.Validate();
            await using var session = await context.OpenAsync(LockKind.None, "restore", loadIndex: true, ct);
            using var progress = new ProgressPrinter(context.Console, "restore", show: !context.Quiet && !context.Json && !fileRequest.DryRun);
            var outcome = await new RestoreOperation().RunAsync(session, fileRequest, progress, ct);
            progress.Dispose();
            Print(context, outcome);
            if (outcome.Result is { } result)
            {
                return result.Damaged > 0 ? ExitCodes.RepositoryDamaged : result.Errors.Count > 0 ? ExitCodes.Partial : ExitCodes.Success;
            }
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static void Print(CommandContext context, RestoreOutcome outcome)
    {
        var plan = outcome.Plan;
        if (context.Json)
        {
            JsonOut.Write(context.Console.Out, w =>
            {
                w.WriteStartObject();
                w.WriteString("snapshot", outcome.Snapshot.ToString());
                w.WriteString("target", plan.Target);
                w.WriteBoolean("dry_run", outcome.Result is null);
                w.WriteNumber("create", plan.Count(RestoreActionKind.Create));
                w.WriteNumber("overwrite", plan.Count(RestoreActionKind.Overwrite));
                w.WriteNumber("skip", plan.Count(RestoreActionKind.Skip));
                w.WriteNumber("bytes", plan.BytesToWrite);
                if (outcome.Result is { } r)
                {
                    w.WriteNumber("files_restored", r.FilesWritten);
                    w.WriteNumber("dirs_created", r.DirsCreated);
                    w.WriteNumber("symlinks_restored", r.SymlinksCreated);
                    w.WriteNumber("bytes_restored", r.BytesWritten);
                    w.WriteNumber("damaged", r.Damaged);
                    w.WriteErrors(r.Errors);
                }
                else
                {
                    w.WriteStartArray("actions");
                    foreach (var a in plan.Actions)
                    {
                        w.WriteStartObject();
                        w.WriteString("path", "/" + a.Path);
                        w.WriteString("action", a.Kind.ToString().ToLowerInvariant());
                        w.WriteString("destination", a.Destination);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            });
            return;
        }
        if (outcome.Result is null)
        {
            foreach (var a in plan.Actions)
            {
                context.Say($"would {a.Kind.ToString().ToLowerInvariant(),-9} /{a.Path}");
            }
            context.Say($"dry run: {plan.Count(RestoreActionKind.Create)} to create, {plan.Count(RestoreActionKind.Overwrite)} to overwrite, {plan.Count(RestoreActionKind.Skip)} to skip ({Format.Bytes(plan.BytesToWrite)}); nothing was changed");
            return;
        }
        var result = outcome.Result;
        context.Say($"restored snapshot {outcome.Snapshot.Short} to {plan.Target}: {result.FilesWritten} files ({Format.Bytes(result.BytesWritten)}), {result.DirsCreated} folders created, {result.SymlinksCreated} symlinks, {result.Skipped} skipped");
        if (result.Errors.Count > 0)
        {
            context.Console.Error.WriteLine($"arca: {result.Errors.Count} entries were not restored{(result.Damaged > 0 ? $", {result.Damaged} of them because their data is damaged" : "")} (listed above).");
        }
    }
}
