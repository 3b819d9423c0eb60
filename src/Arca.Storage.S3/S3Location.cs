namespace Arca.Storage.S3;

/// <summary>
/// Where a repository lives in an S3-compatible store: <c>s3:http://HOST:PORT/BUCKET[/PREFIX]</c> or
/// <c>s3:https://...</c>. The endpoint is addressed path-style (as MinIO-like servers need).
/// </summary>
public sealed record S3Location(Uri Endpoint, string Bucket, string Prefix)
{
    public const string Scheme = "s3:";

    /// <summary>Parses a location; a <see cref="FormatException"/> says what is wrong with it.</summary>
    public static S3Location Parse(string location)
    {
        ArgumentNullException.ThrowIfNull(location);
        if (!location.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            throw new FormatException($"'{location}' is not an S3 location; write s3:http://HOST:PORT/BUCKET[/PREFIX].");
        }
        var rest = location[Scheme.Length..];
        if (!Uri.TryCreate(rest, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new FormatException(
                $"'{location}' has no http:// or https:// endpoint; write s3:http://HOST:PORT/BUCKET[/PREFIX].");
        }
        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            throw new FormatException(
                $"'{location}' has a query, fragment or user name; credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.");
        }
        // The path as written: Uri would fold "a/../b" away before it could be refused.
        var authorityEnd = rest.IndexOf('/', rest.IndexOf("//", StringComparison.Ordinal) + 2);
        var path = authorityEnd < 0 ? "" : rest[authorityEnd..];
        var parts = path.Trim('/').Split('/', 2);
        var bucket = parts[0];
        if (bucket.Length is < 3 or > 63 || !bucket.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.'))
        {
            throw new FormatException(bucket.Length == 0
                ? $"'{location}' names no bucket; write s3:http://HOST:PORT/BUCKET[/PREFIX]."
                : $"'{bucket}' is not a valid bucket name (3 to 63 lower-case letters, digits, '-' or '.').");
        }
        var prefix = parts.Length > 1 ? Uri.UnescapeDataString(parts[1]).Trim('/') : "";
        if (prefix.Split('/').Any(p => p is "." or ".." || (p.Length == 0 && prefix.Length > 0)))
        {
            throw new FormatException($"The prefix '{prefix}' in '{location}' has an empty, '.' or '..' part.");
        }
        var endpoint = new Uri(uri.GetLeftPart(UriPartial.Authority));
        return new S3Location(endpoint, bucket, prefix);
    }

    /// <summary>The object key of a repository path (relative, '/'-separated).</summary>
    public string ObjectKey(string relativePath) => Prefix.Length == 0 ? relativePath : $"{Prefix}/{relativePath}";

    public override string ToString() =>
        $"{Scheme}{Endpoint.GetLeftPart(UriPartial.Authority)}/{Bucket}{(Prefix.Length == 0 ? "" : "/" + Prefix)}";
}
