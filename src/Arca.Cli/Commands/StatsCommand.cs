using System.CommandLine;
using System.Globalization;
using Arca.Cli.Output;
using Arca.Operations;

namespace Arca.Cli.Commands;

public static class StatsCommand
{
    public static Command Create(CliApp app)
    {
        var snapshot = new SnapshotArguments();
        var command = new Command("stats",
            "Sizes of one snapshot, or of all: what a restore writes, what that holds once deduplicated, and what it takes stored.\n" +
            "Exit codes are listed in 'arca --help' and docs/exit-codes.md.");
        snapshot.AddTo(command);
        command.SetAction((parse, ct) => app.RunAsync(parse, async context =>
        {
            await using var session = await context.OpenAsync(LockKind.None, "stats", loadIndex: true, ct);
            var chosen = string.IsNullOrWhiteSpace(context.Get(snapshot.Snapshot)) && context.Get(snapshot.AsOf) is null
                ? [.. (await session.Repository.LoadAllSnapshotsAsync(ct)).Select(s => s.Snapshot)]
                : new[] { (await snapshot.Selector(context).ResolveAsync(session.Repository, ct)).Snapshot };
            var stats = await new StatsOperation().RunAsync(session, chosen, ct);
            if (context.Json)
            {
                JsonOut.Write(context.Console.Out, w =>
                {
                    w.WriteStartObject();
                    w.WriteNumber("snapshots", stats.Snapshots);
                    w.WriteNumber("files", stats.Files);
                    w.WriteNumber("logical_bytes", stats.LogicalBytes);
                    w.WriteNumber("blobs", stats.Blobs);
                    w.WriteNumber("unique_bytes", stats.UniqueRawBytes);
                    w.WriteNumber("stored_bytes", stats.StoredBytes);
                    w.WriteNumber("packs", stats.Packs);
                    w.WriteNumber("dedup_ratio", Math.Round(stats.DedupRatio, 3));
                    w.WriteNumber("compression_ratio", Math.Round(stats.CompressionRatio, 3));
                    w.WriteNumber("ratio", Math.Round(stats.Ratio, 3));
                    w.WriteEndObject();
                });
                return ExitCodes.Success;
            }
            string X(double r) => r.ToString("0.00", CultureInfo.InvariantCulture) + "x";
            context.Say($"snapshots:          {stats.Snapshots}");
            context.Say($"files:              {stats.Files}");
            context.Say($"logical size:       {Format.Bytes(stats.LogicalBytes)}");
            context.Say($"after dedup:        {Format.Bytes(stats.UniqueRawBytes)} in {stats.Blobs} blobs ({X(stats.DedupRatio)})");
            context.Say($"stored:             {Format.Bytes(stats.StoredBytes)} in {stats.Packs} packs (compression {X(stats.CompressionRatio)})");
            context.Say($"ratio:              {X(stats.Ratio)} (logical / stored)");
            return ExitCodes.Success;
        }, ct));
        return command;
    }
}
