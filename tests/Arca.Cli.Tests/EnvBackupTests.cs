using System.Text;
using System.Text.Json;
using Arca.TestKit;

namespace Arca.Cli.Tests;

/// <summary>
/// env:PATTERN sources: the matched variables stored as one .env file (mode 0600) whose values come back exactly
/// when a shell loads it; listings show the names, and the values only with --show-secrets.
/// </summary>
public sealed class EnvBackupTests
{
    /// <summary>Values no naive .env writer survives; each holds "secret" so a leak is easy to spot.</summary>
    private static readonly Dictionary<string, string> Variables = new(StringComparer.Ordinal)
    {
        ["APP_PLAIN"] = "secret-plain-value",
        ["APP_NEWLINES"] = "secret line one\nline two\r\nline three\n",
        ["APP_QUOTES"] = "secret \"double\" and 'single' quotes",
        ["APP_DOLLAR"] = "secret $HOME ${PATH} $(rm -rf /) `date` $$",
        ["APP_BACKSLASH"] = "secret C:\\path\\ \\n not a newline \\",
        ["APP_EQUALS"] = "secret=a=b==",
        ["APP_UNICODE"] = "secret ünïcödé 日本語 😀",
        ["APP_SPACES"] = "  secret with spaces and\ttab  ",
        ["APP_EMPTY"] = "",
        ["DB_1"] = "secret-db-one",
        ["DB_22"] = "not matched by DB_?",
        ["OTHER"] = "not matched at all",
    };

    private static readonly string[] Expected =
        ["APP_BACKSLASH", "APP_DOLLAR", "APP_EMPTY", "APP_EQUALS", "APP_NEWLINES", "APP_PLAIN", "APP_QUOTES", "APP_SPACES", "APP_UNICODE", "DB_1"];

    private static CliRunner RunnerWithVariables(CliSandbox sandbox)
    {
        var runner = sandbox.Runner;
        foreach (var (name, value) in Variables)
        {
            runner = runner.With(name, value);
        }
        return runner;
    }

    /// <summary>Loads <paramref name="envFile"/> in a shell with an empty environment and prints each variable, NUL-terminated.</summary>
    private static async Task<Dictionary<string, string>> LoadWithShellAsync(string shell, string envFile)
    {
        var script = "set -a; . \"$1\"; set +a; printf '%s\\0' " + string.Join(' ', Expected.Select(n => $"\"${n}\""));
        var (code, output, error) = await BuiltProgram.RunAsync("env", ["-i", shell, "-c", script, shell, envFile],
            new Dictionary<string, string>(), TimeSpan.FromMinutes(1));
        code.ShouldBe(0, error);
        error.ShouldBeEmpty();
        var values = output.Split('\0');
        values.Length.ShouldBe(Expected.Length + 1);
        return Expected.Select((name, i) => (name, values[i])).ToDictionary(p => p.name, p => p.Item2, StringComparer.Ordinal);
    }

    [Fact]
    public async Task Matched_variables_restore_as_a_dot_env_file_that_a_shell_loads_back_to_the_same_values()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend.Local);
        await sandbox.InitAsync();
        var runner = RunnerWithVariables(sandbox);

        var backup = await runner.RunAsync("backup", "env:APP_*", "env:DB_?", "--json");
        backup.ShouldSucceed();
        using (var json = backup.Json())
        {
            json.RootElement.GetProperty("env").GetProperty("names").EnumerateArray().Select(e => e.GetString()).ShouldBe(Expected);
        }

        var target = sandbox.Path("target");
        (await sandbox.RunAsync("restore", "latest", "--target", target)).ShouldSucceed();
        var envFile = Path.Combine(target, ".env");
        File.GetUnixFileMode(envFile).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Directory.GetFileSystemEntries(target).ShouldBe([envFile]);
        var expected = Expected.ToDictionary(n => n, n => Variables[n], StringComparer.Ordinal);
        // Two readers no one here wrote: dash (Debian's sh) and bash.
        (await LoadWithShellAsync("sh", envFile)).ShouldBe(expected);
        (await LoadWithShellAsync("bash", envFile)).ShouldBe(expected);
        // Sorted by name, one per line (a value's own newlines inside its quotes).
        var text = await File.ReadAllTextAsync(envFile, Encoding.UTF8);
        text.ShouldStartWith("APP_BACKSLASH=\"secret C:\\\\path\\\\ \\\\n not a newline \\\\\"\nAPP_DOLLAR=\"secret \\$HOME ");
        text.ShouldEndWith("DB_1=\"secret-db-one\"\n");

        using (var json = (await sandbox.RunAsync("snapshots", "--json")).Json())
        {
            json.RootElement[0].GetProperty("paths").EnumerateArray().Select(e => e.GetString()).ShouldBe(["env:APP_*", "env:DB_?"]);
        }
    }

    [Fact]
    public async Task Ls_and_backup_never_print_a_value_and_ls_show_secrets_prints_every_one()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend.Local);
        new TreeFixture().File("a.txt", "alpha\n").CreateIn(sandbox.Source);
        await sandbox.InitAsync();
        var runner = RunnerWithVariables(sandbox);

        var backups = new[]
        {
            await runner.RunAsync("backup", sandbox.Source, "env:APP_*", "env:DB_?"),
            await runner.RunAsync("backup", sandbox.Source, "env:APP_*", "env:DB_?", "--json"),
        };
        var listings = new[]
        {
            await sandbox.RunAsync("ls", "latest"),
            await sandbox.RunAsync("ls", "latest", "--json"),
            await sandbox.RunAsync("ls", "latest", "/.env"),
            await sandbox.RunAsync("diff", "latest", backups[0].Out.Split(' ', '\n').SkipWhile(w => w != "snapshot").ElementAt(1)),
        };
        foreach (var run in backups.Concat(listings))
        {
            run.ShouldSucceed();
            (run.Out + run.Error).ShouldNotContain("secret", Case.Insensitive, run.ToString());
        }
        listings[0].Out.ShouldContain(
            "/.env  (environment variables: APP_BACKSLASH, APP_DOLLAR, APP_EMPTY, APP_EQUALS, APP_NEWLINES, APP_PLAIN, APP_QUOTES, APP_SPACES, APP_UNICODE, DB_1)");
        listings[0].Out.ShouldContain("-rw------- ");
        using (var json = listings[1].Json())
        {
            var env = json.RootElement.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("path").GetString() == "/.env");
            env.GetProperty("mode").GetInt32().ShouldBe(0x180);
            var variables = env.GetProperty("variables").EnumerateArray().ToList();
            variables.Select(v => v.GetProperty("name").GetString()).ShouldBe(Expected);
            variables.Where(v => v.TryGetProperty("value", out _)).ShouldBeEmpty();
        }

        var secrets = await sandbox.RunAsync("ls", "latest", "--show-secrets");
        secrets.ShouldSucceed();
        secrets.Out.ShouldContain("    APP_PLAIN=\"secret-plain-value\"\n");
        secrets.Out.ShouldContain("    APP_DOLLAR=\"secret \\$HOME \\${PATH} \\$(rm -rf /) \\`date\\` \\$\\$\"\n");
        secrets.Out.ShouldContain("    APP_NEWLINES=\"secret line one\nline two\r\nline three\n\"\n");
        secrets.Out.ShouldContain("    DB_1=\"secret-db-one\"\n");
        secrets.Out.ShouldNotContain("not matched");
        var secretJson = await sandbox.RunAsync("ls", "latest", "--json", "--show-secrets");
        secretJson.ShouldSucceed();
        using (var json = secretJson.Json())
        {
            var env = json.RootElement.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("path").GetString() == "/.env");
            env.GetProperty("variables").EnumerateArray().ToDictionary(v => v.GetProperty("name").GetString()!, v => v.GetProperty("value").GetString()!)
                .ShouldBe(Expected.ToDictionary(n => n, n => Variables[n], StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task A_pattern_that_matches_no_variable_exits_45_and_writes_nothing()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend.Local);
        await sandbox.InitAndBackupAsync(BadInputTests.SmallTree());
        var before = await sandbox.CaptureAsync();
        var runner = RunnerWithVariables(sandbox);

        var result = await runner.RunAsync("backup", sandbox.Source, "env:APP_*", "env:app_*");

        result.ShouldFailWith(ExitCodes.NoVariableMatched);
        result.ErrorLines[0].ShouldBe("arca: No environment variable matches env:app_*.");
        (await runner.RunAsync("backup", "env:MISSING_VARIABLE")).ShouldFailWith(ExitCodes.NoVariableMatched);
        await sandbox.AssertUnchangedAsync(before);
    }

    [Theory]
    [InlineData("env:")]
    [InlineData("env:A=B")]
    public async Task A_malformed_pattern_exits_2(string source)
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend.Local);
        await sandbox.InitAndBackupAsync(BadInputTests.SmallTree());
        var before = await sandbox.CaptureAsync();

        (await sandbox.RunAsync("backup", source)).ShouldFailWith(ExitCodes.Usage);
        await sandbox.AssertUnchangedAsync(before);
    }

    [Fact]
    public async Task A_matched_name_a_shell_cannot_take_is_left_out_with_a_warning()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend.Local);
        await sandbox.InitAsync();
        // What bash does with exported functions: names no .env file can hold.
        var runner = sandbox.Runner.With("APP_OK", "fine").With("APP-DASHED", "secret").With("BASH_FUNC_APP%%", "() { :; }");

        var result = await runner.RunAsync("backup", "env:APP*", "env:BASH_FUNC_APP*");

        result.ShouldSucceed();
        result.Error.ShouldContain("arca: warning: the environment variable 'APP-DASHED' was left out of .env");
        result.Error.ShouldContain("arca: warning: the environment variable 'BASH_FUNC_APP%%' was left out of .env");
        result.Error.ShouldNotContain("secret");
        (await sandbox.RunAsync("dump", "latest", ".env")).Out.ShouldBe("APP_OK=\"fine\"\n");
    }

    [Fact]
    public async Task Files_a_commands_output_and_the_environment_share_one_snapshot()
    {
        await using var sandbox = await CliSandbox.CreateAsync(Backend.Local);
        new TreeFixture().File("a.txt", "alpha\n").CreateIn(sandbox.Source);
        await sandbox.InitAsync();
        var runner = sandbox.Runner.With("APP_TOKEN", "t0ken");

        var backup = await runner.RunAsync("backup", sandbox.Source, "env:APP_*", "--stdin-from-command", "--stdin-filename", "dump.sql",
            "--", "printf", "CREATE TABLE t();\n");
        backup.ShouldSucceed();

        var ls = await sandbox.RunAsync("ls", "latest", "--json");
        using (var json = ls.Json())
        {
            json.RootElement.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("path").GetString())
                .ShouldBe(["/.env", "/dump.sql", "/src", "/src/a.txt"]);
        }
        (await sandbox.RunAsync("dump", "latest", "dump.sql")).Out.ShouldBe("CREATE TABLE t();\n");
        (await sandbox.RunAsync("dump", "latest", ".env")).Out.ShouldBe("APP_TOKEN=\"t0ken\"\n");
        using (var json = (await sandbox.RunAsync("snapshots", "--json")).Json())
        {
            json.RootElement[0].GetProperty("paths").EnumerateArray().Select(e => e.GetString())
                .ShouldBe([sandbox.Source, "command:dump.sql", "env:APP_*"]);
        }
    }
}
