using System.CommandLine;
using Arca.Cli.Output;
using Arca.Operations;
using Arca.Trees;

namespace Arca.Cli.Commands;

public static class DiffCommand
{
    public static Command Create(CliApp app)
    {
        var first = new Argument<string>("SNAPSHOT1") { Description = "The earlier snapshot: id, unique prefix, or 'latest'." };
        var second = new Argument<string>("SNAPSHOT2") { Description = "The later snapshot." };
        var command = new Command("diff",
            "Show what changed between two snapshots: + added, - removed, M modified, T type changed, U metadata only.\n" +
            "Exit codes are listed in 'arca --help' and docs/exit-codes.md.")
        {
            first, second,
        };
        command.SetAction((parse, ct) => app.RunAsync(parse, async context =>
        {
            await using var session = await context.OpenAsync(LockKind.None, "diff", loadIndex: true, ct);
            var (idBefore, before) = await new SnapshotSelector(context.Get(first)).ResolveAsync(session.Repository, ct);
            var (idAfter, after) = await new SnapshotSelector(context.Get(second)).ResolveAsync(session.Repository, ct);
            var counts = new Dictionary<ChangeKind, int>();
            long bytesAdded = 0, bytesRemoved = 0;
            var changes = new List<TreeChange>();
            await foreach (var change in new TreeDiff(session.Repository).CompareAsync(before.Tree, after.Tree, ct))
            {
                counts[change.Kind] = counts.GetValueOrDefault(change.Kind) + 1;
                bytesAdded += change.After?.Type == NodeType.File && change.Kind != ChangeKind.MetadataChanged ? change.After.Size : 0;
                bytesRemoved += change.Before?.Type == NodeType.File && change.Kind != ChangeKind.MetadataChanged ? change.Before.Size : 0;
                if (context.Json)
                {
                    changes.Add(change);
                }
                else
                {
                    var size = (change.After ?? change.Before)!.Type == NodeType.File ? Format.Bytes((change.After ?? change.Before)!.Size) : "";
                    context.Say($"{Letter(change.Kind)} {size,10}  {change.Path}{((change.After ?? change.Before)!.Type == NodeType.Dir ? "/" : "")}");
                }
            }
            if (context.Json)
            {
                JsonOut.Write(context.Console.Out, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("from", idBefore.ToString());
                    w.WriteString("to", idAfter.ToString());
                    w.WriteStartArray("changes");
                    foreach (var c in changes)
                    {
                        w.WriteStartObject();
                        w.WriteString("path", c.Path);
                        w.WriteString("change", c.Kind switch
                        {
                            ChangeKind.Added => "added",
                            ChangeKind.Removed => "removed",
                            ChangeKind.Modified => "modified",
                            ChangeKind.TypeChanged => "type_changed",
                            _ => "metadata_changed",
                        });
                        w.WriteString("type", (c.After ?? c.Before)!.Type.ToString().ToLowerInvariant());
                        if (c.Before is { } b) w.WriteNumber("size_before", b.Size);
                        if (c.After is { } a) w.WriteNumber("size_after", a.Size);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteNumber("added", counts.GetValueOrDefault(ChangeKind.Added));
                    w.WriteNumber("removed", counts.GetValueOrDefault(ChangeKind.Removed));
                    w.WriteNumber("modified", counts.GetValueOrDefault(ChangeKind.Modified) + counts.GetValueOrDefault(ChangeKind.TypeChanged));
                    w.WriteNumber("metadata_changed", counts.GetValueOrDefault(ChangeKind.MetadataChanged));
                    w.WriteNumber("bytes_added", bytesAdded);
                    w.WriteNumber("bytes_removed", bytesRemoved);
                    w.WriteEndObject();
                });
                return ExitCodes.Success;
            }
            context.Say($"{counts.GetValueOrDefault(ChangeKind.Added)} added, {counts.GetValueOrDefault(ChangeKind.Removed)} removed, "
                        + $"{counts.GetValueOrDefault(ChangeKind.Modified) + counts.GetValueOrDefault(ChangeKind.TypeChanged)} modified, "
                        + $"{counts.GetValueOrDefault(ChangeKind.MetadataChanged)} with new metadata; "
                        + $"{Format.Bytes(bytesAdded)} in, {Format.Bytes(bytesRemoved)} out");
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static char Letter(ChangeKind kind) => kind switch
    {
        ChangeKind.Added => '+',
        ChangeKind.Removed => '-',
        ChangeKind.Modified => 'M',
        ChangeKind.TypeChanged => 'T',
        _ => 'U',
    };
}
