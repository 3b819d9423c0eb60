using System.CommandLine;
using System.CommandLine.Parsing;
using Arca.Sources.Command;

namespace Arca.Cli.Commands;

/// <summary>
/// backup's --stdin, --stdin-from-command and --stdin-filename, as restic has them: with --stdin-from-command,
/// the words after '--' are the command (the parser hands them to the SOURCE argument, which they are not).
/// </summary>
public sealed class StdinArguments
{
    public Option<bool> Stdin { get; } = new("--stdin") { Description = "Also back up arca's standard input, as one file at the snapshot's root (named by --stdin-filename)." };

    public Option<bool> FromCommand { get; } = new("--stdin-from-command")
    {
        Description = "Also back up the standard output of the command given after '--', as one file; if it fails or is killed, no snapshot is written (exit 44).",
    };

    public Option<string?> Filename { get; } = new("--stdin-filename") { Description = "The name of that file (default: stdin)." };

    public void AddTo(Command command)
    {
        command.Options.Add(Stdin);
        command.Options.Add(FromCommand);
        command.Options.Add(Filename);
    }

    /// <summary>The sources proper (SOURCE arguments before '--'), and the options with the command split off.</summary>
    public (IReadOnlyList<string> Sources, StdinOptions Options) Read(ParseResult parse, CommandContext context, IReadOnlyList<string> sources)
    {
        var fromCommand = context.Get(FromCommand);
        IReadOnlyList<string>? command = null;
        if (fromCommand)
        {
            var tokens = parse.Tokens;
            var dash = -1;
            for (var i = 0; i < tokens.Count; i++)
            {
                if (tokens[i].Type == TokenType.DoubleDash)
                {
                    dash = i;
                    break;
                }
            }
            if (dash < 0)
            {
                throw new ArcaException(ErrorCode.Usage, "--stdin-from-command needs the command to run, after '--'.",
                    "Write it as: arca backup --stdin-from-command --stdin-filename NAME -- COMMAND ARGS...");
            }
            command = [.. tokens.Skip(dash + 1).Select(t => t.Value)];
            if (command.Count > sources.Count || !sources.Skip(sources.Count - command.Count).SequenceEqual(command, StringComparer.Ordinal))
            {
                throw new InvalidOperationException("The words after '--' are not the last SOURCE arguments.");
            }
            sources = [.. sources.Take(sources.Count - command.Count)];
        }
        return (sources, new StdinOptions
        {
            ReadStandardInput = context.Get(Stdin),
            Command = command,
            Filename = context.Get(Filename),
            OpenStandardInput = context.Console.OpenStandardInput,
        });
    }
}
