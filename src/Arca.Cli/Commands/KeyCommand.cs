using System.CommandLine;
using Arca.Cli.Output;
using Arca.Operations;
using Arca.Repo.Crypto;

namespace Arca.Cli.Commands;

public static class KeyCommand
{
    public static Command Create(CliApp app)
    {
        var command = new Command("key", "Manage the repository's passwords (each one a key file).\nExit codes are listed in 'arca --help' and docs/exit-codes.md.");
        command.Subcommands.Add(List(app));
        command.Subcommands.Add(Add(app));
        command.Subcommands.Add(Remove(app));
        command.Subcommands.Add(Passwd(app));
        return command;
    }

    private static Option<string?> NewPasswordFile() => new("--new-password-file") { Description = "Read the new password from this file (else ARCA_NEW_PASSWORD, else a prompt)." };

    private static Command List(CliApp app)
    {
        var command = new Command("list", "List the keys; * marks the one the given password opened.");
        command.SetAction((parse, ct) => app.RunAsync(parse, async context =>
        {
            await using var session = await context.OpenAsync(LockKind.None, "key list", loadIndex: false, ct);
            var keys = await new KeyOperation(context.Time).ListAsync(session, ct);
            if (context.Json)
            {
                JsonOut.Write(context.Console.Out, w =>
                {
                    w.WriteStartArray();
                    foreach (var k in keys)
                    {
                        w.WriteStartObject();
                        w.WriteString("id", k.Id);
                        w.WriteString("created", k.Created);
                        w.WriteString("hostname", k.Hostname);
                        w.WriteString("username", k.Username);
                        w.WriteBoolean("current", k.Current);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                });
                return ExitCodes.Success;
            }
            context.Say($"  {"ID",-10} {"Created",-19}  {"Host",-16} User");
            foreach (var k in keys)
            {
                context.Say($"{(k.Current ? '*' : ' ')} {k.Id[..8],-10} {Format.LocalTime(k.Created),-19}  {k.Hostname,-16} {k.Username}");
            }
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static Command Add(CliApp app)
    {
        var file = NewPasswordFile();
        var command = new Command("add", "Add a password: a new key file for the same repository.") { file };
        command.SetAction((parse, ct) => app.RunAsync(parse, async context =>
        {
            await using var session = await context.OpenAsync(LockKind.None, "key add", loadIndex: false, ct);
            var newPassword = context.ReadNewPassword(context.Get(file));
            var id = await new KeyOperation(context.Time).AddAsync(session, newPassword, context.TestKdf ?? KdfParameters.Default, ct);
            Report(context, "added", id);
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static Command Remove(CliApp app)
    {
        var id = new Argument<string>("ID") { Description = "The key's id, or a unique prefix of it, as 'arca key list' shows." };
        var command = new Command("remove", "Remove a password (never the last one, nor the one in use).") { id };
        command.SetAction((parse, ct) => app.RunAsync(parse, async context =>
        {
            await using var session = await context.OpenAsync(LockKind.None, "key remove", loadIndex: false, ct);
            var removed = await new KeyOperation(context.Time).RemoveAsync(session, context.Get(id), ct);
            Report(context, "removed", removed);
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static Command Passwd(CliApp app)
    {
        var file = NewPasswordFile();
        var command = new Command("passwd", "Change the password you opened with (the new key is written before the old one goes).") { file };
        command.SetAction((parse, ct) => app.RunAsync(parse, async context =>
        {
            await using var session = await context.OpenAsync(LockKind.None, "key passwd", loadIndex: false, ct);
            var newPassword = context.ReadNewPassword(context.Get(file));
            var (added, removed) = await new KeyOperation(context.Time).ChangePasswordAsync(session, newPassword,
                context.TestKdf ?? KdfParameters.Default, ct);
            if (context.Json)
            {
                JsonOut.Write(context.Console.Out, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("added", added);
                    w.WriteString("removed", removed);
                    w.WriteEndObject();
                });
            }
            context.Say($"password changed: key {added[..8]} replaces {removed[..8]}");
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static void Report(CommandContext context, string what, string id)
    {
        if (context.Json)
        {
            JsonOut.Write(context.Console.Out, w =>
            {
                w.WriteStartObject();
                w.WriteString(what, id);
                w.WriteEndObject();
            });
        }
        context.Say($"{what} key {id[..8]}");
    }
}
