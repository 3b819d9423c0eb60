using System.Text;
using Arca.Backup;
using Arca.Repo;
using Arca.Repo.Chunking;
using Arca.Restore;
using Arca.Trees;

namespace Arca.Sources.Env;

/// <summary>What <see cref="EnvironmentSource"/> stored: the <c>.env</c> entry and the warnings about names left out.</summary>
public sealed record EnvBackup(Node Entry, IReadOnlyList<string> Warnings);

/// <summary>
/// Backs up the environment variables that <c>env:PATTERN</c> sources name as one file, <c>.env</c>, at the
/// snapshot's root (<see cref="EnvFile"/> has its syntax), with permissions rw------- since it holds secrets. The
/// entry records the variables' names (<see cref="EnvInfo"/>), so listings can show what is there without the
/// values, which live only in the encrypted content.
/// </summary>
public sealed class EnvironmentSource(IBlobSaver saver, Chunker chunker, TimeProvider time)
{
    public const string FileName = ".env";

    /// <summary>rw-------: the file holds secrets.</summary>
    private const uint FileMode = 0x180;

    /// <summary>
    /// The variables the patterns select, sorted by name (ordinal), and the names left out because a .env file
    /// cannot hold them. A pattern that matches no variable at all is an error (<see cref="ErrorCode.NoVariableMatched"/>):
    /// a backup run where the variables are missing (cron's bare environment, a unit without its
    /// EnvironmentFile) would otherwise store an empty file and restore it without a word.
    /// </summary>
    public static (List<KeyValuePair<string, string>> Selected, List<string> LeftOut) Select(IReadOnlyList<EnvPattern> patterns,
        IReadOnlyDictionary<string, string> environment)
    {
        foreach (var pattern in patterns)
        {
            if (!environment.Keys.Any(pattern.IsMatch))
            {
                throw new ArcaException(ErrorCode.NoVariableMatched, $"No environment variable matches {pattern.Source}.",
                    "Check the pattern (names are case-sensitive; * matches any characters, ? one) and that the variables are set where arca runs.");
            }
        }
        var matched = environment.Where(v => patterns.Any(p => p.IsMatch(v.Key))).OrderBy(v => v.Key, StringComparer.Ordinal).ToList();
        return ([.. matched.Where(v => EnvFile.IsValidName(v.Key))], [.. matched.Where(v => !EnvFile.IsValidName(v.Key)).Select(v => v.Key)]);
    }

    public async Task<EnvBackup> RunAsync(IReadOnlyList<EnvPattern> patterns, IReadOnlyDictionary<string, string> environment,
        CancellationToken cancellationToken)
    {
        var (selected, leftOut) = Select(patterns, environment);
        var timeNs = (time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
        using var content = new MemoryStream(EnvFile.Write(selected), writable: false);
        var saved = await new ContentSaver(saver, chunker).SaveAsync(content, null, cancellationToken);
        var entry = saved.ToFileNode(FileName, FileMode, timeNs) with
        {
            Env = new EnvInfo { Patterns = [.. patterns.Select(p => p.Pattern)], Names = [.. selected.Select(v => v.Key)] },
        };
        var warnings = leftOut.Select(name => $"the environment variable '{Printable(name)}' was left out of {FileName}: its name is not one a shell accepts.").ToList();
        return new EnvBackup(entry, warnings);
    }

    /// <summary>The variables of a stored <c>.env</c> entry, read back from the repository: the values, for <c>ls --show-secrets</c>.</summary>
    public static async Task<List<KeyValuePair<string, string>>> ReadAsync(IBlobLoader loader, Node entry, CancellationToken cancellationToken)
    {
        await using var content = new ContentReader(loader, entry.Content ?? []);
        using var bytes = new MemoryStream();
        await content.CopyToAsync(bytes, cancellationToken);
        try
        {
            return EnvFile.Parse(Encoding.UTF8.GetString(bytes.GetBuffer(), 0, (int)bytes.Length));
        }
        catch (FormatException ex)
        {
            throw new ArcaException(ErrorCode.RepositoryDamaged, $"The stored {FileName} cannot be read: {ex.Message}",
                "Run 'arca check --read-data'; 'arca dump' shows the file as it is.", ex);
        }
    }

    /// <summary>A name as a message can show it: control characters would break the line.</summary>
    private static string Printable(string name) => new([.. name.Select(c => char.IsControl(c) ? '?' : c)]);
}
