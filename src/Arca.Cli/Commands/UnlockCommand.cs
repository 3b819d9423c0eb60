using System.CommandLine;
using Arca.Operations;
using Arca.Repo;

namespace Arca.Cli.Commands;

public static class UnlockCommand
{
    public static Command Create(CliApp app)
    {
        var all = new Option<bool>("--remove-all") { Description = "Remove every lock, not only stale ones (only when no other arca runs)." };
        var command = new Command("unlock", "Remove stale locks (whose process is gone, or not refreshed for 30 minutes).\nExit codes are listed in 'arca --help' and docs/exit-codes.md.") { all };
        command.SetAction((parse, ct) => app.RunAsync(parse, async context =>
        {
            await using var session = await context.OpenAsync(LockKind.None, "unlock", loadIndex: false, ct);
            var removed = 0;
            foreach (var l in await RepositoryLock.ListAsync(session.Repository, context.Time, ct))
            {
                if (l.IsStale || context.Get(all))
                {
                    await session.Repository.Storage.DeleteAsync(new Storage.StorageKey(Storage.StorageKind.Lock, l.Name), ct);
                    removed++;
                    context.Say($"removed lock of pid {l.Record.Pid} on {l.Record.Hostname} ({l.Record.Operation}, {l.Record.Time:u})");
                }
            }
            context.Say($"{removed} locks removed");
            return ExitCodes.Success;
        }, ct));
        return command;
    }
}
