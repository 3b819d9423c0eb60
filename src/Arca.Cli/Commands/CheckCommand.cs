using System.CommandLine;
using Arca.Cli.Output;
using Arca.Operations;

namespace Arca.Cli.Commands;

public static class CheckCommand
{
    public static Command Create(CliApp app)
    {
        var readData = new Option<bool>("--read-data") { Description = "Also read, decrypt and hash every blob." };
        var subset = new Option<string?>("--read-data-subset") { Description = "Read this share of the packs, chosen at random (e.g. 10%)." };
        var command = new Command("check", "Prove the repository whole: structure, and with --read-data every byte.\nExit codes are listed in 'arca --help' and docs/exit-codes.md.")
        {
            readData, subset,
        };
        command.SetAction((parse, ct) => app.RunAsync(parse, async context =>
        {
            var fraction = context.Get(subset) is { Length: > 0 } s ? CheckOperation.ParseSubset(s) : context.Get(readData) ? 1.0 : 0.0;
            await using var session = await context.OpenAsync(LockKind.Shared, "check", loadIndex: false, useCache: false, ct);
            context.ReportStaleLocks(session);
            var result = await new CheckOperation().RunAsync(session, fraction, ct);
            if (context.Json)
            {
                JsonOut.Write(context.Console.Out, w =>
                {
                    w.WriteStartObject();
                    w.WriteBoolean("ok", result.IsWhole);
                    w.WriteNumber("snapshots", result.Snapshots);
                    w.WriteNumber("trees", result.Trees);
                    w.WriteNumber("blobs", result.IndexedBlobs);
                    w.WriteNumber("packs", result.Packs);
                    w.WriteNumber("packs_read", result.PacksRead);
                    w.WriteNumber("bytes_read", result.BytesRead);
                    w.WriteNumber("unreferenced_packs", result.UnreferencedPacks);
                    w.WriteStrings("problems", result.Problems);
                    w.WriteStartArray("damaged_packs");
                    foreach (var d in result.DamagedPacks)
                    {
                        w.WriteStartObject();
                        w.WriteString("pack", d.Pack.ToString());
                        w.WriteString("reason", d.Reason);
                        w.WriteStartArray("affected");
                        foreach (var f in d.AffectedFiles)
                        {
                            w.WriteStartObject();
                            w.WriteString("snapshot", f.Snapshot.ToString());
                            w.WriteString("path", f.Path);
                            w.WriteEndObject();
                        }
                        w.WriteEndArray();
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                });
            }
            else
            {
                context.Say($"checked {result.Snapshots} snapshots, {result.Trees} trees, {result.IndexedBlobs} blobs in {result.Packs} packs");
                if (fraction > 0)
                {
                    context.Say($"read {result.PacksRead} packs ({Format.Bytes(result.BytesRead)})");
                }
                if (result.UnreferencedPacks > 0)
                {
                    context.Say($"{result.UnreferencedPacks} packs are not referenced by the index (left by an interrupted backup; prune removes them)");
                }
                foreach (var problem in result.Problems)
                {
                    context.Console.Error.WriteLine($"error: {problem}");
                }
                foreach (var d in result.DamagedPacks)
                {
                    context.Console.Error.WriteLine($"error: pack {d.Pack} is damaged: {d.Reason}");
                    foreach (var f in d.AffectedFiles)
                    {
                        context.Console.Error.WriteLine($"  affects snapshot {f.Snapshot.Short}: {f.Path}");
                    }
                }
                if (result.IsWhole)
                {
                    context.Say("no errors were found");
                }
            }
            if (!result.IsWhole)
            {
                throw new ArcaException(ErrorCode.RepositoryDamaged,
                    $"The repository is damaged: {result.Problems.Count} structural problems and {result.DamagedPacks.Count} damaged packs.",
                    "The files named above cannot be restored from the damaged packs; back them up again while they still exist.");
            }
            return ExitCodes.Success;
        }, ct));
        return command;
    }
}
