using System.CommandLine;
using Arca.Cli.Output;
using Arca.Operations;
using Arca.Repo;

namespace Arca.Cli.Commands;

public static class PruneCommand
{
    public static Command Create(CliApp app)
    {
        var dryRun = new Option<bool>("--dry-run", "-n") { Description = "Only say what would be deleted and repacked." };
        var maxUnused = MaxUnusedOption();
        var command = new Command("prune",
            "Delete the data no snapshot needs: packs nobody uses go, partly used ones are repacked.\n" +
            "Safe to interrupt at any point. Exit codes are listed in 'arca --help' and docs/exit-codes.md.")
        {
            dryRun, maxUnused,
        };
        command.SetAction((parse, ct) => app.RunAsync(parse, async context =>
        {
            var options = new PruneOptions(PruneOperation.ParseMaxUnused(context.Get(maxUnused)), context.Get(dryRun));
            await using var session = await context.OpenAsync(LockKind.None, "prune", loadIndex: false, ct);
            await RunAsync(context, session, options, ct);
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    internal static Option<string> MaxUnusedOption() => new("--max-unused")
    {
        Description = "Unused space that may stay in partly used packs, as a share of the used space (default 5%; 0% repacks all).",
        DefaultValueFactory = _ => "5%",
    };

    /// <summary>Prunes and reports; shared with 'forget --prune', which has its session already.</summary>
    internal static async Task RunAsync(CommandContext context, RepositorySession session, PruneOptions options, CancellationToken ct)
    {
        if (!options.DryRun)
        {
            await session.LockAsync(LockKind.Exclusive, "prune", ct);
        }
        await session.Repository.LoadIndexAsync(ct);
        var progress = new Progress<string>(line => { if (!context.Json && !context.Quiet) context.Console.Error.WriteLine(line); });
        var result = await new PruneOperation().RunAsync(session, options, progress, ct);
        if (context.Json)
        {
            JsonOut.Write(context.Console.Out, w =>
            {
                w.WriteStartObject();
                w.WriteBoolean("dry_run", result.DryRun);
                w.WriteNumber("snapshots", result.Snapshots);
                w.WriteNumber("packs_before", result.PacksBefore);
                w.WriteNumber("bytes_before", result.BytesBefore);
                w.WriteNumber("used_bytes", result.UsedBytes);
                w.WriteNumber("unused_bytes", result.UnusedBytes);
                w.WriteNumber("packs_deleted", result.PacksToDelete);
                w.WriteNumber("packs_repacked", result.PacksToRepack);
                w.WriteNumber("bytes_repacked", result.BytesToRepack);
                w.WriteNumber("unreferenced_packs", result.UnreferencedPacks);
                w.WriteNumber("packs_written", result.PacksWritten);
                w.WriteNumber(result.DryRun ? "bytes_to_free" : "bytes_freed", result.DryRun ? result.BytesToFree : result.BytesFreed);
                w.WriteEndObject();
            });
            return;
        }
        context.Say($"{result.Snapshots} snapshots need {Format.Bytes(result.UsedBytes)} of {Format.Bytes(result.BytesBefore)} in {result.PacksBefore} packs");
        var verb = result.DryRun ? "would delete" : "deleted";
        context.Say($"{verb} {result.PacksToDelete} packs" + (result.UnreferencedPacks > 0 ? $" ({result.UnreferencedPacks} left unindexed by interrupted backups)" : "")
                    + $" and repack {result.PacksToRepack} ({Format.Bytes(result.BytesToRepack)} copied)");
        context.Say(result.DryRun
            ? $"would free {Format.Bytes(result.BytesToFree)} (dry run: nothing was changed)"
            : $"freed {Format.Bytes(result.BytesFreed)}");
    }
}
