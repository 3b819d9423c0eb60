using System.CommandLine;
using Arca.Operations;
using Arca.Repo.Crypto;

namespace Arca.Cli.Commands;

public static class InitCommand
{
    public static Command Create(CliApp app)
    {
        var command = new Command("init", "Create a new repository.\nExit codes are listed in 'arca --help' and docs/exit-codes.md.");
        command.SetAction((parse, ct) => app.RunAsync(parse, async context =>
        {
            // For tests only: the cheapest key derivation libsodium allows makes each open instant.
            var kdf = context.TestKdf;
            var storage = context.OpenStorage();
            var repository = await new InitOperation(context.Time).RunAsync(storage, context.ReadPassword(confirm: true), kdf, ct);
            if (context.Json)
            {
                Output.JsonOut.Write(context.Console.Out, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("id", repository.Id);
                    w.WriteString("location", repository.Storage.Properties.Location);
                    w.WriteEndObject();
                });
            }
            context.Say($"created repository {repository.Id[..8]} at {repository.Storage.Properties.Location}");
            context.Say("Keep the password safe: without it, no one can read the backups, including you.");
            return ExitCodes.Success;
        }, ct));
        return command;
    }
}
