namespace Arca.Sources.Env;

/// <summary>
/// An <c>env:PATTERN</c> source: the environment variables whose names match PATTERN, where <c>*</c> matches any
/// run of characters and <c>?</c> one character; every other character matches itself, case included (Linux
/// variable names are case-sensitive).
/// </summary>
public sealed class EnvPattern
{
    public const string Prefix = "env:";

    public EnvPattern(string source)
    {
        if (!IsEnvSource(source))
        {
            throw new ArgumentException($"'{source}' is not an env: source.", nameof(source));
        }
        Source = source;
        Pattern = source[Prefix.Length..];
        if (Pattern.Length == 0 || Pattern.Contains('=') || Pattern.Contains('\0'))
        {
            throw new ArcaException(ErrorCode.Usage, $"'{source}' does not name environment variables.",
                "Write env: and a variable name, with * for any characters and ? for one, e.g. env:APP_* or env:DATABASE_URL.");
        }
    }

    /// <summary>The source as given (<c>env:APP_*</c>).</summary>
    public string Source { get; }

    /// <summary>The pattern after <c>env:</c>.</summary>
    public string Pattern { get; }

    public static bool IsEnvSource(string source) => source.StartsWith(Prefix, StringComparison.Ordinal);

    public bool IsMatch(string name) => Matches(Pattern, 0, name, 0);

    private static bool Matches(string pattern, int p, string name, int n)
    {
        // Iterative with one backtrack point (the last '*'), so no pattern is slow.
        int star = -1, resume = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == name[n]) && pattern[p] != '*')
            {
                p++;
                n++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                resume = n;
            }
            else if (star >= 0)
            {
                p = star + 1;
                n = ++resume;
            }
            else
            {
                return false;
            }
        }
        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }
        return p == pattern.Length;
    }
}
