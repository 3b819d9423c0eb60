using System.CommandLine;
using Arca.Cli.Commands;

namespace Arca.Cli;

/// <summary>
/// The `arca` program: parses, runs one command, maps every failure through <see cref="ErrorReporter"/>.
/// Tests call <see cref="RunAsync(string[], CliConsole, CancellationToken)"/> in process with their own console.
/// </summary>
public sealed class CliApp
{
    private readonly CliConsole _console;
    private readonly GlobalOptions _options = new();

    private CliApp(CliConsole console) => _console = console;

    public static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken cancellationToken)
    {
        var app = new CliApp(console);
        var root = new RootCommand("arca: fast, verifiable, encrypted backups of files and databases.\n\n" + ExitCodes.HelpText);
        app._options.AddTo(root);
        root.Subcommands.Add(InitCommand.Create(app));
        root.Subcommands.Add(BackupCommand.Create(app));
        root.Subcommands.Add(SnapshotsCommand.Create(app));
        root.Subcommands.Add(LsCommand.Create(app));
        root.Subcommands.Add(RestoreCommand.Create(app));
        root.Subcommands.Add(DumpCommand.Create(app));
        root.Subcommands.Add(CheckCommand.Create(app));
        root.Subcommands.Add(ForgetCommand.Create(app));
        root.Subcommands.Add(PruneCommand.Create(app));
        root.Subcommands.Add(KeyCommand.Create(app));
        root.Subcommands.Add(DiffCommand.Create(app));
        root.Subcommands.Add(StatsCommand.Create(app));
        root.Subcommands.Add(UnlockCommand.Create(app));
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            var json = args.Contains("--json");
            var atRoot = parse.CommandResult.Command == root;
            var command = atRoot ? "arca" : $"arca {parse.CommandResult.Command.Name}";
            var message = atRoot && args.Length > 0 && !args[0].StartsWith('-')
                ? $"'{args[0]}' is not an arca command."
                : parse.Errors[0].Message;
            return ErrorReporter.Report(new ArcaException(ErrorCode.Usage, message, $"Run '{command} --help'."), console, json);
        }
        return await parse.InvokeAsync(new InvocationConfiguration { Output = console.Out, Error = console.Error, EnableDefaultExceptionHandler = false },
            cancellationToken);
    }

    /// <summary>Runs one command's body with the shared context, turning every failure into an exit code.</summary>
    public async Task<int> RunAsync(ParseResult parse, Func<CommandContext, Task<int>> body, CancellationToken cancellationToken)
    {
        var context = new CommandContext(parse, _options, _console);
        try
        {
            return await body(context);
        }
        catch (Exception ex)
        {
            return ErrorReporter.Report(ex, _console, context.Json);
        }
    }
}
