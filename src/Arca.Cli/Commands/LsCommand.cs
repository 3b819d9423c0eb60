using System.CommandLine;
using Arca.Cli.Output;
using Arca.Operations;
using Arca.Trees;

namespace Arca.Cli.Commands;

public static class LsCommand
{
    public static Command Create(CliApp app)
    {
        var snapshot = new SnapshotArguments();
        var path = new Argument<string?>("PATH") { Description = "Only this path of the snapshot and what is below it.", Arity = ArgumentArity.ZeroOrOne };
        var showSecrets = new Option<bool>("--show-secrets") { Description = "Also print the values of the environment variables of env: sources (names are always listed)." };
        var command = new Command("ls", "List the files, folders, databases and tables of a snapshot.\nExit codes are listed in 'arca --help' and docs/exit-codes.md.");
        snapshot.AddTo(command);
        command.Arguments.Add(path);
        command.Options.Add(showSecrets);
        command.SetAction((parse, ct) => app.RunAsync(parse, async context =>
        {
            var selector = snapshot.Selector(context);
            await using var session = await context.OpenAsync(LockKind.None, "ls", loadIndex: true, ct);
            var (id, snap, nodes) = await new LsOperation().RunAsync(session, selector, context.Get(path), ct);
            // Values are read only when asked for: without --show-secrets they are never even decrypted.
            var secrets = new Dictionary<string, List<KeyValuePair<string, string>>>(StringComparer.Ordinal);
            if (context.Get(showSecrets))
            {
                foreach (var (p, node) in nodes.Where(n => n.Node.Env is not null))
                {
                    secrets[p] = await LsOperation.ReadSecretsAsync(session, node, ct);
                }
            }
            if (context.Json)
            {
                JsonOut.Write(context.Console.Out, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("snapshot", id.ToString());
                    w.WriteStartArray("nodes");
                    foreach (var (p, node) in nodes)
                    {
                        w.WriteStartObject();
                        w.WriteString("path", p);
                        w.WriteString("type", node.Type switch { NodeType.Dir => "dir", NodeType.Symlink => "symlink", _ => "file" });
                        w.WriteNumber("mode", node.Mode);
                        w.WriteNumber("size", node.Size);
                        w.WriteString("mtime", Format.FromUnixNs(node.ModifyTimeNs));
                        if (node.LinkTarget is not null)
                        {
                            w.WriteString("target", node.LinkTarget);
                        }
                        if (node.Table is { } table)
                        {
                            w.WriteString("table", table.QualifiedName);
                            w.WriteNumber("rows", table.Rows);
                        }
                        if (node.Database is { } database)
                        {
                            w.WriteString("database", database.Name);
                            w.WriteString("source", database.Source);
                            WriteTables(w, database);
                        }
                        ProcessSourcesOutput.WriteLsFields(w, node, secrets.GetValueOrDefault(p));
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                });
                return ExitCodes.Success;
            }
            context.Say($"snapshot {id.Short} of {string.Join(' ', snap.Paths)} at {Format.LocalTime(snap.Time)}:");
            foreach (var (p, node) in nodes)
            {
                var link = node.LinkTarget is not null ? $" -> {node.LinkTarget}"
                    : node.Table is { } table ? $"  (table {table.QualifiedName}, {table.Rows:N0} rows{(table.Filter is null ? "" : ", filtered")})"
                    : node.Database is { } database ? $"  (database {database.Name}, {(database.Engine == "sqlite" ? "SQLite " : "")}{database.ServerVersion})"
                    : ProcessSourcesOutput.LsSuffix(node);
                context.Say($"{Format.Mode(node.Type, node.Mode)} {node.Size,12} {Format.LocalTime(Format.FromUnixNs(node.ModifyTimeNs))} {p}{link}");
                foreach (var inner in node.Database?.Tables ?? [])
                {
                    context.Say($"{"",37}table {inner.Name}: {inner.Rows:N0} rows");
                }
                foreach (var line in ProcessSourcesOutput.SecretLines(secrets.GetValueOrDefault(p) ?? []))
                {
                    context.Say(line);
                }
            }
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    /// <summary>The tables a SQLite database file holds (a PostgreSQL database lists its tables as entries of its own).</summary>
    private static void WriteTables(System.Text.Json.Utf8JsonWriter w, DatabaseInfo database)
    {
        if (database.Tables is not { } tables)
        {
            return;
        }
        w.WriteStartArray("tables");
        foreach (var table in tables)
        {
            w.WriteStartObject();
            w.WriteString("name", table.Name);
            w.WriteNumber("rows", table.Rows);
            w.WriteString("checksum", table.Checksum);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }
}
