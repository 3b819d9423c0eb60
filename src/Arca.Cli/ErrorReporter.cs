using System.Text.Json;
using Arca.Repo;
using Arca.Storage;

namespace Arca.Cli;

/// <summary>
/// The one place that turns exceptions into exit codes and messages. A user error is one sentence and a
/// hint; a bug is named as one, with its stack trace only when ARCA_DEBUG is set.
/// </summary>
public static class ErrorReporter
{
    public static int Report(Exception exception, CliConsole console, bool json)
    {
        var (code, message, hint) = exception switch
        {
            ArcaException e => (ExitCodes.For(e.Code), e.Message, e.Hint),
            OperationCanceledException => (ExitCodes.Interrupted, "Interrupted; nothing half-written was kept.", null),
            BlobDamagedException e => (ExitCodes.RepositoryDamaged, e.Message, "Run 'arca check --read-data' to see what is affected."),
            StorageNotFoundException e => (ExitCodes.RepositoryDamaged, e.Message, "Run 'arca check' to see what is affected."),
            StorageException e => (ExitCodes.StorageFailed, e.Message, e.IsTransient ? "Try again; the storage may be busy or unreachable." : null),
            _ => (ExitCodes.InternalError, $"Internal error ({exception.GetType().Name}): {exception.Message}",
                "This is a bug in arca; run again with ARCA_DEBUG=1 for details and report it."),
        };
        if (json)
        {
            using var stream = new MemoryStream();
            using (var writer = new Utf8JsonWriter(stream))
            {
                writer.WriteStartObject();
                writer.WriteStartObject("error");
                writer.WriteNumber("exit_code", code);
                writer.WriteString("message", message);
                if (hint is not null)
                {
                    writer.WriteString("hint", hint);
                }
                writer.WriteEndObject();
                writer.WriteEndObject();
            }
            console.Error.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
        }
        else
        {
            console.Error.WriteLine($"arca: {message}");
            if (hint is not null)
            {
                console.Error.WriteLine($"  {hint}");
            }
        }
        if (code == ExitCodes.InternalError && !string.IsNullOrEmpty(console.GetEnvironmentVariable("ARCA_DEBUG")))
        {
            console.Error.WriteLine(exception.ToString());
        }
        return code;
    }
}
