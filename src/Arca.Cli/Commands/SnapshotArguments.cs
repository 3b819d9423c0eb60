using System.CommandLine;
using Arca.Operations;

namespace Arca.Cli.Commands;

/// <summary>The SNAPSHOT argument with --as-of and --host, as every command that takes a snapshot has them.</summary>
public sealed class SnapshotArguments
{
    public Argument<string> Snapshot { get; } = new("SNAPSHOT")
    {
        Description = "A snapshot id, a unique prefix of one, or 'latest'.",
        Arity = ArgumentArity.ZeroOrOne,
        DefaultValueFactory = _ => "",
    };

    public Option<string?> AsOf { get; } = new("--as-of") { Description = "The newest snapshot at or before this time (2026-11-20, '2026-11-20 14:30', ISO 8601)." };
    public Option<string?> Host { get; } = new("--host") { Description = "Only snapshots of this host (with 'latest' and --as-of)." };

    public void AddTo(Command command)
    {
        command.Arguments.Add(Snapshot);
        command.Options.Add(AsOf);
        command.Options.Add(Host);
    }

    public SnapshotSelector Selector(CommandContext context)
    {
        var reference = context.Get(Snapshot);
        if (reference.StartsWith('-'))
        {
            // The parser hands an unknown option to the optional SNAPSHOT argument; say what it is.
            throw new ArcaException(ErrorCode.Usage, $"'{reference}' is not an option of this command.", "Run the command with --help to see its options.");
        }
        var asOf = context.Get(AsOf) is { Length: > 0 } text ? TimeParser.Parse(text, TimeZoneInfo.Local) : (DateTimeOffset?)null;
        if (string.IsNullOrWhiteSpace(reference))
        {
            reference = asOf is null
                ? throw new ArcaException(ErrorCode.Usage, "No snapshot given.", "Name one by id, id prefix, or 'latest', or pass --as-of TIME.")
                : "latest";
        }
        return new SnapshotSelector(reference, asOf, context.Get(Host));
    }
}
