using System.CommandLine;
using Arca.Cli.Output;
using Arca.Operations;

namespace Arca.Cli.Commands;

public static class SnapshotsCommand
{
    public static Command Create(CliApp app)
    {
        var host = new Option<string?>("--host") { Description = "Only snapshots of this host." };
        var tag = new Option<string[]>("--tag") { Description = "Only snapshots with this tag (repeatable: any of them)." };
        var command = new Command("snapshots", "List the snapshots, oldest first.\nExit codes are listed in 'arca --help' and docs/exit-codes.md.") { host, tag };
        command.SetAction((parse, ct) => app.RunAsync(parse, async context =>
        {
            await using var session = await context.OpenAsync(LockKind.None, "snapshots", loadIndex: false, ct);
            var tags = context.Get(tag) ?? [];
            var hostName = context.Get(host);
            var snapshots = (await session.Repository.LoadAllSnapshotsAsync(ct))
                .Where(s => (hostName is null || s.Snapshot.Hostname == hostName) && (tags.Length == 0 || s.Snapshot.Tags.Any(tags.Contains)))
                .ToList();
            if (context.Json)
            {
                JsonOut.Write(context.Console.Out, w =>
                {
                    w.WriteStartArray();
                    foreach (var (id, s) in snapshots)
                    {
                        w.WriteStartObject();
                        w.WriteString("id", id.ToString());
                        w.WriteString("short_id", id.Short);
                        w.WriteString("time", s.Time);
                        w.WriteString("hostname", s.Hostname);
                        w.WriteString("username", s.Username);
                        w.WriteStrings("paths", s.Paths);
                        w.WriteStrings("tags", s.Tags);
                        w.WriteString("tree", s.Tree.ToString());
                        if (s.Parent is { } parent)
                        {
                            w.WriteString("parent", parent.ToString());
                        }
                        if (s.Summary is { } sum)
                        {
                            w.WriteNumber("total_files", sum.TotalFiles);
                            w.WriteNumber("total_bytes", sum.TotalBytes);
                            w.WriteNumber("bytes_added", sum.BytesAdded);
                            w.WriteNumber("bytes_added_stored", sum.BytesAddedStored);
                            w.WriteBoolean("partial", sum.Partial);
                            w.WriteErrors(sum.Errors);
                        }
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                });
                return ExitCodes.Success;
            }
            if (snapshots.Count == 0)
            {
                context.Say("no snapshots");
                return ExitCodes.Success;
            }
            context.Say($"{"ID",-10} {"Time",-19}  {"Host",-16} {"Size",10}  {"Tags",-16} Paths");
            foreach (var (id, s) in snapshots)
            {
                var size = s.Summary is { } sum ? Format.Bytes(sum.TotalBytes) : "";
                var mark = s.Summary?.Partial == true ? " (partial)" : "";
                context.Say($"{id.Short,-10} {Format.LocalTime(s.Time),-19}  {s.Hostname,-16} {size,10}  {string.Join(',', s.Tags),-16} {string.Join(' ', s.Paths)}{mark}");
            }
            context.Say($"{snapshots.Count} snapshots");
            return ExitCodes.Success;
        }, ct));
        return command;
    }
}
