using System.CommandLine;
using Arca.Operations;

namespace Arca.Cli;

/// <summary>What a command needs from the parse and the console: the repository, the password, output choices.</summary>
public sealed class CommandContext
{
    private readonly ParseResult _parse;
    private readonly GlobalOptions _options;

    public CommandContext(ParseResult parse, GlobalOptions options, CliConsole console)
    {
        _parse = parse;
        _options = options;
        Console = console;
    }

    public CliConsole Console { get; }
    public bool Json => _parse.GetValue(_options.Json);
    public bool Quiet => _parse.GetValue(_options.Quiet);
    public bool NoCache => _parse.GetValue(_options.NoCache);
    public TimeProvider Time => Console.Time;

    public string RepositoryLocation =>
        _parse.GetValue(_options.Repo) is { Length: > 0 } repo ? repo
        : Console.GetEnvironmentVariable("ARCA_REPOSITORY") is { Length: > 0 } env ? env
        : throw new ArcaException(ErrorCode.Usage, "No repository given.", "Pass --repo PATH or set ARCA_REPOSITORY.");

    /// <summary>The password from --password-file, ARCA_PASSWORD, or a prompt on a terminal, in that order.</summary>
    public string ReadPassword(bool confirm = false)
    {
        if (_parse.GetValue(_options.PasswordFile) is { Length: > 0 } file)
        {
            return ReadPasswordFile(file, "--password-file");
        }
        if (Console.GetEnvironmentVariable("ARCA_PASSWORD") is { } password)
        {
            return password;
        }
        if (!Console.InputIsTerminal)
        {
            throw new ArcaException(ErrorCode.Usage, "No password given, and there is no terminal to ask for one.",
                "Set ARCA_PASSWORD or pass --password-file FILE.");
        }
        var first = Prompt("Repository password: ");
        if (confirm && Prompt("Repeat the password: ") != first)
        {
            throw new ArcaException(ErrorCode.Usage, "The two passwords differ.", "Run the command again and type the same password twice.");
        }
        return first;
    }

    /// <summary>A new password (key add, key passwd): from <paramref name="file"/>, ARCA_NEW_PASSWORD, or a prompt typed twice.</summary>
    public string ReadNewPassword(string? file)
    {
        if (!string.IsNullOrEmpty(file))
        {
            return ReadPasswordFile(file, "--new-password-file");
        }
        if (Console.GetEnvironmentVariable("ARCA_NEW_PASSWORD") is { } password)
        {
            return password;
        }
        if (!Console.InputIsTerminal)
        {
            throw new ArcaException(ErrorCode.Usage, "No new password given, and there is no terminal to ask for one.",
                "Set ARCA_NEW_PASSWORD or pass --new-password-file FILE.");
        }
        var first = Prompt("New password: ");
        if (Prompt("Repeat the new password: ") != first)
        {
            throw new ArcaException(ErrorCode.Usage, "The two passwords differ.", "Run the command again and type the same password twice.");
        }
        return first;
    }

    /// <summary>The first line of a password file (the rest, and a missing newline, do not matter).</summary>
    private static string ReadPasswordFile(string file, string option)
    {
        try
        {
            using var reader = new StreamReader(file);
            return reader.ReadLine() ?? "";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ArcaException(ErrorCode.Usage, $"The password file '{file}' cannot be read: {ex.Message}", $"Check {option}.");
        }
    }

    /// <summary>How new key files are derived: the test switch ARCA_INSECURE_TEST_KDF=1 makes them instant.</summary>
    public Repo.Crypto.KdfParameters? TestKdf =>
        Console.GetEnvironmentVariable("ARCA_INSECURE_TEST_KDF") == "1" ? Repo.Crypto.KdfParameters.Insecure : null;

    private string Prompt(string text)
    {
        Console.Error.Write(text);
        var password = new System.Text.StringBuilder();
        if (ReferenceEquals(Console.In, System.Console.In) && !System.Console.IsInputRedirected)
        {
            while (true)
            {
                var key = System.Console.ReadKey(intercept: true);
                if (key.Key == ConsoleKey.Enter)
                {
                    break;
                }
                if (key.Key == ConsoleKey.Backspace)
                {
                    if (password.Length > 0) password.Length--;
                    continue;
                }
                password.Append(key.KeyChar);
            }
            Console.Error.WriteLine();
            return password.ToString();
        }
        return Console.In.ReadLine() ?? "";
    }

    /// <summary>The storage that --repo (or ARCA_REPOSITORY) names, with S3 credentials from this command's environment.</summary>
    public Storage.IStorage OpenStorage() => Operations.RepositoryLocation.Open(RepositoryLocation, Console.GetEnvironmentVariable);

    public Task<RepositorySession> OpenAsync(LockKind lockKind, string operation, bool loadIndex, CancellationToken cancellationToken) =>
        OpenAsync(lockKind, operation, loadIndex, useCache: true, cancellationToken);

    /// <param name="useCache">
    /// False to read everything from the repository itself (check must see what is there, not a local copy).
    /// Otherwise a remote repository's tree packs are cached where PackCache.DefaultRoot says, unless --no-cache.
    /// </param>
    public Task<RepositorySession> OpenAsync(LockKind lockKind, string operation, bool loadIndex, bool useCache, CancellationToken cancellationToken) =>
        RepositorySession.OpenAsync(OpenStorage(), ReadPassword(), lockKind, operation, loadIndex, Time, cancellationToken,
            useCache && !NoCache ? Repo.Packs.PackCache.DefaultRoot(Console.GetEnvironmentVariable) : null);

    public T Get<T>(Option<T> option) => _parse.GetValue(option)!;
    public T Get<T>(Argument<T> argument) => _parse.GetValue(argument)!;

    /// <summary>Text for people, unless --quiet.</summary>
    public void Say(string line)
    {
        if (!Quiet && !Json)
        {
            Console.Out.WriteLine(line);
        }
    }

    /// <summary>Warnings go to standard error, even with --json, so the JSON on standard output stays clean.</summary>
    public void Warn(string line) => Console.Error.WriteLine($"arca: warning: {line}");

    public void ReportStaleLocks(RepositorySession session)
    {
        foreach (var stale in session.Lock?.StaleLocks ?? [])
        {
            Warn($"a stale lock from pid {stale.Record.Pid} on {stale.Record.Hostname} ({stale.Record.Operation}, {stale.Record.Time:u}) was ignored; 'arca unlock' removes it.");
        }
    }
}
