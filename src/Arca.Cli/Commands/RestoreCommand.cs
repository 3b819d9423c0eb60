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
        var command = new Command("restore", "Restore a snapshot, or parts of it, into a folder.\nExit codes are listed in 'arca --help' and docs/exit-codes.md.")
        {
            target, include, exclude, overwrite, dryRun,
        };
        snapshot.AddTo(command);
        command.SetAction((parse, ct) => app.RunAsync(parse, async context =>
        {
            var mode = context.Get(overwrite) switch
            {
                "always" => OverwriteMode.Always,
                "if-newer" => OverwriteMode.IfNewer,
                "skip" => OverwriteMode.Skip,
                var other => throw new ArcaException(ErrorCode.Usage, $"'{other}' is not an overwrite mode.", "Use --overwrite always, if-newer or skip."),
            };
            var request = new RestoreRequest
            {
                Snapshot = snapshot.Selector(context),
                Target = context.Get(target) ?? throw new ArcaException(ErrorCode.Usage, "No target folder was given.", "Pass --target DIR."),
                Includes = context.Get(include) ?? [],
                Excludes = context.Get(exclude) ?? [],
                Overwrite = mode,
                DryRun = context.Get(dryRun),
            };
            request.Validate();
            await using var session = await context.OpenAsync(LockKind.None, "restore", loadIndex: true, ct);
            using var progress = new ProgressPrinter(context.Console, "restore", show: !context.Quiet && !context.Json && !request.DryRun);
            var outcome = await new RestoreOperation().RunAsync(session, request, progress, ct);
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
