using System.CommandLine;
using Arca.Operations;

namespace Arca.Cli.Commands;

public static class DumpCommand
{
    public static Command Create(CliApp app)
    {
        var snapshot = new SnapshotArguments();
        var path = new Argument<string>("PATH") { Description = "A file of the snapshot, or a table as DB/SCHEMA.TABLE (arca ls lists them)." };
        var format = new Option<string?>("--format", "-f") { Description = "For a table: csv (default), ndjson, json (metadata and rows in one document) or raw (COPY text)." };
        var command = new Command("dump", "Write one file or table of a snapshot to standard output.\nExit codes are listed in 'arca --help' and docs/exit-codes.md.")
        {
            format,
        };
        snapshot.AddTo(command);
        command.Arguments.Add(path);
        command.SetAction((parse, ct) => app.RunAsync(parse, async context =>
        {
            var selector = snapshot.Selector(context);
            await using var session = await context.OpenAsync(LockKind.None, "dump", loadIndex: true, ct);
            await using var output = context.Console.OpenStandardOutput();
            await new DumpOperation().RunAsync(session, selector, context.Get(path), context.Get(format), output, ct);
            await output.FlushAsync(ct);
            return ExitCodes.Success;
        }, ct));
        return command;
    }
}
