using Arca.Backup;
using Arca.Repo;
using Arca.Sources.Command;
using Arca.Sources.Env;
using Arca.Sources.Postgres;
using Arca.Trees;

namespace Arca.Operations;

/// <summary>What the sources of <see cref="ProcessSources"/> added to a backup.</summary>
public sealed record ProcessSourcesBackup(IReadOnlyList<Node> Entries, StdinBackup? Stdin, EnvBackup? Env)
{
    public long Bytes => Entries.Sum(e => e.Size);
    public IEnumerable<string> Warnings => (Stdin?.Warnings ?? []).Concat(Env?.Warnings ?? []);
}

/// <summary>
/// The backup sources that come from arca's own process rather than from a path: its standard input or a
/// command's output (<c>--stdin</c>, <c>--stdin-from-command</c>), and its environment (<c>env:PATTERN</c>). Each
/// adds one file to the snapshot's root. Kept apart from <see cref="BackupOperation"/>, which only calls in here.
/// </summary>
internal static class ProcessSources
{
    public static IReadOnlyList<EnvPattern> EnvPatterns(BackupRequest request) =>
        [.. request.Paths.Where(EnvPattern.IsEnvSource).Select(p => new EnvPattern(p))];

    /// <summary>What the snapshot's list of paths says for these sources: <c>stdin:NAME</c> or <c>command:NAME</c>, and each <c>env:PATTERN</c>.</summary>
    public static IEnumerable<string> SnapshotPaths(BackupRequest request) =>
        (request.Stdin.Enabled ? [request.Stdin.SnapshotPath] : Array.Empty<string>())
            .Concat(request.Paths.Where(EnvPattern.IsEnvSource).Distinct(StringComparer.Ordinal));

    /// <summary>
    /// The checks that need no repository: the patterns parse and each matches a variable, and the files these
    /// sources add do not take a name another root entry has.
    /// </summary>
    public static void Validate(BackupRequest request)
    {
        var patterns = EnvPatterns(request);
        if (patterns.Count > 0)
        {
            EnvironmentSource.Select(patterns, request.EnvironmentVariables);
        }
        var others = request.SourceEntryNames.ToHashSet(StringComparer.Ordinal);
        if (request.Stdin.Enabled && (others.Contains(request.Stdin.Name) || (patterns.Count > 0 && request.Stdin.Name == EnvironmentSource.FileName)))
        {
            throw new ArcaException(ErrorCode.Usage, $"The file name '{request.Stdin.Name}' of --stdin-filename is also the name of another entry of the snapshot.",
                "Choose another --stdin-filename; every entry at a snapshot's root needs its own name.");
        }
        if (patterns.Count > 0 && others.Contains(EnvironmentSource.FileName))
        {
            throw new ArcaException(ErrorCode.Usage, $"A path to back up is named '{EnvironmentSource.FileName}', the name env: sources store their variables under.",
                "Back up that path in a separate snapshot, or back up the folder that holds it.");
        }
    }

    public static async Task<ProcessSourcesBackup> RunAsync(Repository repository, TimeProvider time, BackupRequest request,
        CancellationToken cancellationToken)
    {
        var entries = new List<Node>();
        StdinBackup? stdin = null;
        EnvBackup? env = null;
        var patterns = EnvPatterns(request);
        if (patterns.Count > 0)
        {
            env = await new EnvironmentSource(repository, repository.Chunker, time).RunAsync(patterns, request.EnvironmentVariables, cancellationToken);
            entries.Add(env.Entry);
        }
        if (request.Stdin.Enabled)
        {
            stdin = await new StdinSource(repository, repository.Chunker, time).RunAsync(request.Stdin, cancellationToken);
            entries.Add(stdin.Entry);
        }
        return new ProcessSourcesBackup(entries, stdin, env);
    }
}
