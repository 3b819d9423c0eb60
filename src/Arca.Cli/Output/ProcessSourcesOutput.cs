using System.Text.Json;
using Arca.Operations;
using Arca.Sources.Command;
using Arca.Sources.Env;
using Arca.Trees;

namespace Arca.Cli.Output;

/// <summary>
/// How backup and ls show the entries of --stdin, --stdin-from-command and env: sources. An environment
/// variable's value is shown only when the caller passes the values (ls --show-secrets); names always are.
/// </summary>
public static class ProcessSourcesOutput
{
    public static IEnumerable<string> BackupLines(ProcessSourcesBackup? backup)
    {
        if (backup?.Stdin is { } stdin)
        {
            var from = stdin.Entry.Stdin?.Command is { } command ? $"output of {CommandText.Display(command)}" : "standard input";
            yield return $"File {stdin.Entry.Name} ({from}): {Format.Bytes(stdin.Entry.Size)}, sha256 {stdin.Sha256Hex}";
        }
        if (backup?.Env?.Entry.Env is { } env)
        {
            yield return $"Environment: {env.Names.Count} variables in {EnvironmentSource.FileName}";
        }
    }

    public static void WriteBackup(Utf8JsonWriter w, ProcessSourcesBackup? backup)
    {
        if (backup?.Stdin is { } stdin)
        {
            w.WriteStartObject("stdin");
            w.WriteString("name", stdin.Entry.Name);
            if (stdin.Entry.Stdin?.Command is { } command)
            {
                w.WriteStrings("command", command);
            }
            w.WriteNumber("bytes", stdin.Entry.Size);
            w.WriteString("sha256", stdin.Sha256Hex);
            w.WriteEndObject();
        }
        if (backup?.Env?.Entry.Env is { } env)
        {
            w.WriteStartObject("env");
            w.WriteString("name", EnvironmentSource.FileName);
            w.WriteStrings("names", env.Names);
            w.WriteEndObject();
        }
    }

    /// <summary>What ls adds after an entry's path, on its line.</summary>
    public static string LsSuffix(Node node) =>
        node.Stdin is { } stdin ? (stdin.Command is { } command ? $"  (output of {CommandText.Display(command, int.MaxValue)})" : "  (standard input)")
        : node.Env is { } env ? $"  (environment variables: {string.Join(", ", env.Names)})"
        : "";

    /// <summary>The lines ls prints below a .env entry with --show-secrets: each variable as the file holds it.</summary>
    public static IEnumerable<string> SecretLines(IReadOnlyList<KeyValuePair<string, string>> variables) =>
        variables.Select(v => "    " + EnvFile.Line(v.Key, v.Value));

    /// <summary>ls --json's fields for these entries; <paramref name="values"/> only with --show-secrets.</summary>
    public static void WriteLsFields(Utf8JsonWriter w, Node node, IReadOnlyList<KeyValuePair<string, string>>? values)
    {
        if (node.Stdin is { } stdin)
        {
            w.WriteStartObject("stdin");
            if (stdin.Command is { } command)
            {
                w.WriteStrings("command", command);
            }
            w.WriteEndObject();
        }
        if (node.Env is { } env)
        {
            w.WriteStartArray("variables");
            foreach (var name in env.Names)
            {
                w.WriteStartObject();
                w.WriteString("name", name);
                if (values is not null)
                {
                    var value = values.FirstOrDefault(v => v.Key == name);
                    if (value.Key is not null)
                    {
                        w.WriteString("value", value.Value);
                    }
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
    }
}
