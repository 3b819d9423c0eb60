using System.CommandLine;
using Arca.Cli.Output;
using Arca.Operations;

namespace Arca.Cli.Commands;

public static class BackupCommand
{
    public static Command Create(CliApp app)
    {
        var paths = new Argument<string[]>("SOURCE") { Description = "Files and folders to back up, databases as postgresql://USER[:PASSWORD]@HOST[:PORT]/DB or sqlite:PATH, and environment variables as env:PATTERN (stored as one .env file; * and ? match).", Arity = ArgumentArity.ZeroOrMore };
        var exclude = new Option<string[]>("--exclude", "-e") { Description = "Leave out entries matching this glob (repeatable): '*.tmp', 'cache/**', '/abs/path'." };
        var tag = new Option<string[]>("--tag") { Description = "Tag the snapshot (repeatable)." };
        var host = new Option<string?>("--host") { Description = "Record this host name instead of the machine's." };
        var table = new Option<string[]>("--table", "-t") { Description = "Back up only this table of the database, as SCHEMA.TABLE (repeatable; default: every table)." };
        var where = new Option<string[]>("--where") { Description = "Back up only the rows matching a condition: 'SCHEMA.TABLE: SQL condition' (repeatable; runs read-only)." };
        var excludeColumn = new Option<string[]>("--exclude-column") { Description = "Leave a column out, as SCHEMA.TABLE.COLUMN (repeatable; for secrets and personal data)." };
        var jobs = new Option<int>("--jobs", "-j") { Description = "Tables read at once, sharing one consistent snapshot of the database.", DefaultValueFactory = _ => 2 };
        var sqliteTimeout = new Option<double>("--sqlite-timeout") { Description = "Seconds to wait for a SQLite writer's lock before giving up.", DefaultValueFactory = _ => 30 };
        var command = new Command("backup", "Back up files, folders, databases, a command's output and environment variables into a new snapshot.\nExit codes are listed in 'arca --help' and docs/exit-codes.md.")
        {
            paths, exclude, tag, host, table, where, excludeColumn, jobs, sqliteTimeout,
        };
        var stdin = new StdinArguments();
        stdin.AddTo(command);
        command.SetAction((parse, ct) => app.RunAsync(parse, async context =>
        {
            var (sources, stdinOptions) = stdin.Read(parse, context, context.Get(paths) ?? []);
            var request = new BackupRequest
            {
                Paths = sources,
                Stdin = stdinOptions,
                EnvironmentVariables = context.Console.GetEnvironmentVariables?.Invoke() ?? new Dictionary<string, string>(),
                Excludes = context.Get(exclude) ?? [],
                Tags = context.Get(tag) ?? [],
                Host = context.Get(host),
                Postgres = new Sources.Postgres.PostgresBackupOptions
                {
                    Tables = context.Get(table) ?? [],
                    Filters = context.Get(where) ?? [],
                    ExcludedColumns = context.Get(excludeColumn) ?? [],
                    Jobs = context.Get(jobs),
                },
                Sqlite = new Sources.Sqlite.SqliteBackupOptions { Timeout = TimeSpan.FromSeconds(context.Get(sqliteTimeout)) },
            };
            request.Validate();
            await using var early = EarlyDatabase.Begin(request, context.Time, ct);
            await using var session = await context.OpenAsync(LockKind.Shared, "backup", loadIndex: true, ct);
            context.ReportStaleLocks(session);
            using var progress = new ProgressPrinter(context.Console, "backup", show: !context.Quiet && !context.Json);
            var result = await new BackupOperation(context.Time).RunAsync(session, request, progress, early, ct);
            progress.Dispose();
            var s = result.Snapshot.Summary!;
            foreach (var warning in result.Databases.SelectMany(d => d.Warnings).Concat(result.Process?.Warnings ?? []))
            {
                context.Warn(warning);
            }
            if (context.Json)
            {
                JsonOut.Write(context.Console.Out, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("snapshot_id", result.Id.ToString());
                    if (result.Parent is { } parent)
                    {
                        w.WriteString("parent", parent.ToString());
                    }
                    w.WriteNumber("files_new", s.FilesNew);
                    w.WriteNumber("files_changed", s.FilesChanged);
                    w.WriteNumber("files_unmodified", s.FilesUnmodified);
                    w.WriteNumber("dirs", s.Dirs);
                    w.WriteNumber("total_files", s.TotalFiles);
                    w.WriteNumber("total_bytes", s.TotalBytes);
                    w.WriteNumber("data_blobs_added", s.DataBlobsAdded);
                    w.WriteNumber("tree_blobs_added", s.TreeBlobsAdded);
                    w.WriteNumber("bytes_added", s.BytesAdded);
                    w.WriteNumber("bytes_added_stored", s.BytesAddedStored);
                    w.WriteNumber("duration_seconds", (s.BackupEnd - s.BackupStart).TotalSeconds);
                    w.WriteBoolean("partial", s.Partial);
                    w.WriteStartArray("databases");
                    foreach (var d in result.Databases)
                    {
                        w.WriteStartObject();
                        w.WriteString("source", d.Source);
                        w.WriteNumber("tables", d.Tables);
                        w.WriteNumber("rows", d.Rows);
                        w.WriteNumber("bytes", d.Bytes);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    ProcessSourcesOutput.WriteBackup(w, result.Process);
                    w.WriteErrors(s.Errors);
                    w.WriteEndObject();
                });
            }
            else if (!context.Quiet)
            {
                foreach (var d in result.Databases)
                {
                    context.Say($"Database {d.Source}: {d.Tables} tables, {d.Rows:N0} rows, {Format.Bytes(d.Bytes)}");
                }
                foreach (var line in ProcessSourcesOutput.BackupLines(result.Process))
                {
                    context.Say(line);
                }
                if (request.FilePaths.Any())
                {
                    context.Say($"Files: {s.FilesNew} new, {s.FilesChanged} changed, {s.FilesUnmodified} unmodified ({s.TotalFiles} in {s.Dirs} folders, {Format.Bytes(s.TotalBytes)})");
                }
                context.Say($"Added to the repository: {Format.Bytes(s.BytesAdded)} ({Format.Bytes(s.BytesAddedStored)} stored) in {s.DataBlobsAdded} data and {s.TreeBlobsAdded} tree blobs");
                context.Say($"snapshot {result.Id.Short} saved in {Format.Duration(s.BackupEnd - s.BackupStart)}{(s.Partial ? $", partial: {s.Errors.Count} items could not be read (listed above)" : "")}");
            }
            return s.Partial ? ExitCodes.Partial : ExitCodes.Success;
        }, ct));
        return command;
    }
}
