using System.Text;
using System.Text.RegularExpressions;

namespace Arca.Sources.Files;

/// <summary>
/// Shell-style patterns for --exclude and --include: <c>*</c> matches within one path component,
/// <c>**</c> across components, <c>?</c> one character, <c>[abc]</c> a set. A pattern without a slash
/// matches an entry's name anywhere in the tree (<c>*.log</c>); a pattern with a slash matches the
/// whole path from its start (<c>/home/*/cache</c>), or a trailing part of it when it does not begin
/// with a slash (<c>node_modules/**</c>).
/// </summary>
public sealed class Glob
{
    private readonly Regex _regex;
    private readonly bool _nameOnly;

    public Glob(string pattern)
    {
        if (string.IsNullOrWhiteSpace(pattern))
        {
            throw new ArcaException(ErrorCode.Usage, "An empty pattern matches nothing.", "Give a pattern such as '*.tmp' or 'cache/**'.");
        }
        Pattern = pattern;
        var trimmed = pattern.TrimEnd('/');
        _nameOnly = !trimmed.Contains('/');
        var body = ToRegex(trimmed);
        var anchored = trimmed.StartsWith('/') || _nameOnly ? "^" + body + "$" : "(^|/)" + body + "$";
        _regex = new Regex(anchored, RegexOptions.CultureInvariant | RegexOptions.Compiled);
    }

    public string Pattern { get; }

    /// <summary>Whether the entry at <paramref name="path"/> (absolute or snapshot path) with <paramref name="name"/> matches.</summary>
    public bool IsMatch(string path, string name) => _nameOnly ? _regex.IsMatch(name) : _regex.IsMatch(path);

    private static string ToRegex(string pattern)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '*' when i + 1 < pattern.Length && pattern[i + 1] == '*':
                    i++;
                    if (i + 1 < pattern.Length && pattern[i + 1] == '/')
                    {
                        i++;
                        sb.Append("(.*/)?");
                    }
                    else
                    {
                        sb.Append(".*");
                    }
                    break;
                case '*':
                    sb.Append("[^/]*");
                    break;
                case '?':
                    sb.Append("[^/]");
                    break;
                case '[':
                    var end = pattern.IndexOf(']', i + 1);
                    if (end < 0)
                    {
                        throw new ArcaException(ErrorCode.Usage, $"The pattern '{pattern}' opens a '[' set that it never closes.", "Close it with ']' or escape it as '\\['.");
                    }
                    var set = pattern[(i + 1)..end];
                    sb.Append('[').Append(set.StartsWith('!') ? "^" + Regex.Escape(set[1..]) : Regex.Escape(set)).Append(']');
                    i = end;
                    break;
                case '\\' when i + 1 < pattern.Length:
                    sb.Append(Regex.Escape(pattern[++i].ToString()));
                    break;
                default:
                    sb.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }
        return sb.ToString();
    }
}
