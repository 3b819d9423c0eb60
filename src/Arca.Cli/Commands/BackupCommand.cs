using System.CommandLine;
using Arca.Cli.Output;
using Arca.Operations;

namespace Arca.Cli.Commands;

public static class BackupCommand
{
    public static Command Create(CliApp app)
    {
        var paths = new Argument<string[]>("PATH") { Description = "Files and folders to back up.", Arity = ArgumentArity.ZeroOrMore };
        var exclude = new Option<string[]>("--exclude", "-e") { Description = "Leave out entries matching this glob (repeatable): '*.tmp', 'cache/**', '/abs/path'." };
        var tag = new Option<string[]>("--tag") { Description = "Tag the snapshot (repeatable)." };
        var host = new Option<string?>("--host") { Description = "Record this host name instead of the machine's." };
        var command = new Command("backup", "Back up files and folders into a new snapshot.\nExit codes are listed in 'arca --help' and docs/exit-codes.md.")
        {
            paths, exclude, tag, host,
        };
        command.SetAction((parse, ct) => app.RunAsync(parse, async context =>
        {
            var request = new BackupRequest
            {
                Paths = context.Get(paths) ?? [],
                Excludes = context.Get(exclude) ?? [],
                Tags = context.Get(tag) ?? [],
                Host = context.Get(host),
            };
            request.Validate();
            await using var session = await context.OpenAsync(LockKind.Shared, "backup", loadIndex: true, ct);
            context.ReportStaleLocks(session);
            using var progress = new ProgressPrinter(context.Console, "backup", show: !context.Quiet && !context.Json);
            var result = await new BackupOperation(context.Time).RunAsync(session, request, progress, ct);
            progress.Dispose();
            var s = result.Snapshot.Summary!;
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
                    w.WriteErrors(s.Errors);
                    w.WriteEndObject();
                });
            }
            else if (!context.Quiet)
            {
                context.Say($"Files: {s.FilesNew} new, {s.FilesChanged} changed, {s.FilesUnmodified} unmodified ({s.TotalFiles} in {s.Dirs} folders, {Format.Bytes(s.TotalBytes)})");
                context.Say($"Added to the repository: {Format.Bytes(s.BytesAdded)} ({Format.Bytes(s.BytesAddedStored)} stored) in {s.DataBlobsAdded} data and {s.TreeBlobsAdded} tree blobs");
                context.Say($"snapshot {result.Id.Short} saved in {Format.Duration(s.BackupEnd - s.BackupStart)}{(s.Partial ? $", partial: {s.Errors.Count} items could not be read (listed above)" : "")}");
            }
            return s.Partial ? ExitCodes.Partial : ExitCodes.Success;
        }, ct));
        return command;
    }
}
