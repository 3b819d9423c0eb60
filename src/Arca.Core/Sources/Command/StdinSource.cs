using System.ComponentModel;
using System.Diagnostics;
using Arca.Backup;
using Arca.Repo;
using Arca.Repo.Chunking;
using Arca.Trees;

namespace Arca.Sources.Command;

/// <summary>What <see cref="StdinSource"/> stored: the root entry, and what to tell the user besides.</summary>
public sealed record StdinBackup(Node Entry, string Sha256Hex, IReadOnlyList<string> Warnings);

/// <summary>
/// Backs up one stream as one file at the snapshot's root: Arca's standard input (<c>--stdin</c>), or the standard
/// output of a command (<c>--stdin-from-command</c>, restic's syntax), as <c>mongodump --archive</c> or
/// <c>pg_dumpall</c> write their dumps. The stream goes through <see cref="ContentSaver"/>, so memory stays a few
/// chunks whatever its length, and the command is never kept waiting longer than one chunk takes to store.
///
/// A command must succeed for its output to count: when it cannot be started, exits with a non-zero status or is
/// killed, this throws <see cref="ErrorCode.CommandFailed"/> and the backup writes no snapshot (the chunks stored
/// before the end are unreferenced, for prune, as after any interrupted backup). Its standard input is empty; its
/// standard error is read alongside (so it cannot block) and its last lines are quoted in the failure, or in a
/// warning when it succeeded.
/// </summary>
public sealed class StdinSource(IBlobSaver saver, Chunker chunker, TimeProvider time)
{
    /// <summary>Permissions of the stored file (rw-r--r--): a dump, not a program.</summary>
    private const uint FileMode = 0x1A4;

    public Task<StdinBackup> RunAsync(StdinOptions options, CancellationToken cancellationToken)
    {
        options.Validate();
        if (!options.Enabled)
        {
            throw new InvalidOperationException("Neither --stdin nor --stdin-from-command was given.");
        }
        return options.Command is { } command
            ? BackupCommandAsync(options.Name, command, cancellationToken)
            : BackupStandardInputAsync(options.Name, options.OpenStandardInput!, cancellationToken);
    }

    private async Task<StdinBackup> BackupStandardInputAsync(string name, Func<Stream> open, CancellationToken cancellationToken)
    {
        var timeNs = NowNs();
        await using var input = open();
        var saved = await new ContentSaver(saver, chunker).SaveAsync(input, null, cancellationToken);
        return new StdinBackup(FileNode(name, saved, timeNs, new StdinInfo()), saved.Sha256Hex!, []);
    }

    private async Task<StdinBackup> BackupCommandAsync(string name, IReadOnlyList<string> command, CancellationToken cancellationToken)
    {
        var display = CommandText.Display(command);
        var start = new ProcessStartInfo(command[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }
        // The command needs its own environment, not the repository's passwords.
        start.Environment.Remove("ARCA_PASSWORD");
        start.Environment.Remove("ARCA_NEW_PASSWORD");
        var timeNs = NowNs();
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{command[0]} did not start.");
        }
        catch (Win32Exception ex)
        {
            var why = ex.NativeErrorCode switch
            {
                2 => "no program of that name was found",
                13 => "it is not executable (permission denied)",
                _ => ex.Message,
            };
            throw new ArcaException(ErrorCode.CommandFailed, $"The command \"{display}\" could not be started: {why}.",
                "Check the program's name, that it is on PATH (or give its full path), and that it may be run.", ex);
        }
        using (process)
        {
            // The command reads nothing from arca: its standard input ends at once, so it cannot wait for a reply.
            process.StandardInput.Close();
            var errors = new ErrorTail();
            var readingErrors = errors.ReadAsync(process.StandardError);
            SavedContent saved;
            try
            {
                saved = await new ContentSaver(saver, chunker).SaveAsync(process.StandardOutput.BaseStream, null, cancellationToken);
                await readingErrors;
                await process.WaitForExitAsync(cancellationToken);
            }
            catch
            {
                // Storing failed or the backup was interrupted: the command must not outlive it, blocked on a pipe
                // no one reads. Its standard error then ends, and with it the tail's reader.
                Stop(process);
                throw;
            }
            var said = errors.LastLines(3, 100);
            if (process.ExitCode != 0)
            {
                throw new ArcaException(ErrorCode.CommandFailed,
                    $"The command \"{display}\" {CommandText.Ending(process.ExitCode)}{(said.Length > 0 ? $", saying \"{said}\"" : "")}; no snapshot was written.",
                    "Make the command succeed when run by hand; what it wrote before failing is left for 'arca prune'.");
            }
            var warnings = said.Length > 0
                ? new[] { $"the command \"{display}\" wrote {errors.Total:N0} characters to standard error, ending: \"{said}\"" }
                : [];
            return new StdinBackup(FileNode(name, saved, timeNs, new StdinInfo { Command = [.. command] }), saved.Sha256Hex!, warnings);
        }
    }

    private static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or NotSupportedException)
        {
            // It ended on its own in the meantime.
        }
    }

    private long NowNs() => (time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;

    private static Node FileNode(string name, SavedContent saved, long timeNs, StdinInfo info) => saved.ToFileNode(name, FileMode, timeNs) with { Stdin = info };
}
