using System.CommandLine;

namespace Arca.Cli;

/// <summary>Options every command takes.</summary>
public sealed class GlobalOptions
{
    public Option<string?> Repo { get; } = new("--repo", "-r")
    {
        Description = "The repository: a local folder (default: $ARCA_REPOSITORY).",
        Recursive = true,
    };

    public Option<string?> PasswordFile { get; } = new("--password-file")
    {
        Description = "Read the password from this file's first line (default: $ARCA_PASSWORD, else a prompt).",
        Recursive = true,
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Print machine-readable JSON instead of text.",
        Recursive = true,
    };

    public Option<bool> Quiet { get; } = new("--quiet", "-q")
    {
        Description = "Print only errors and the final result.",
        Recursive = true,
    };

    public Option<bool> NoCache { get; } = new("--no-cache")
    {
        Description = "Keep no local copy of a remote repository's trees (default: cached under $ARCA_CACHE_DIR, else $XDG_CACHE_HOME/arca, else ~/.cache/arca).",
        Recursive = true,
    };

    public void AddTo(RootCommand root)
    {
        root.Options.Add(NoCache);
        root.Options.Add(Repo);
        root.Options.Add(PasswordFile);
        root.Options.Add(Json);
        root.Options.Add(Quiet);
    }
}
