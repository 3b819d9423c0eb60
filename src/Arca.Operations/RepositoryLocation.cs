using Arca.Storage;
using Arca.Storage.Decorators;
using Arca.Storage.Local;
using Arca.Storage.S3;

namespace Arca.Operations;

/// <summary>
/// Turns a --repo value into storage: <c>s3:http(s)://HOST[:PORT]/BUCKET[/PREFIX]</c> for an S3-compatible
/// store (credentials from the AWS_* variables, retried on transient failures), otherwise a local folder
/// (optionally written <c>local:PATH</c>).
/// </summary>
public static class RepositoryLocation
{
    public static IStorage Open(string location, Func<string, string?> environment)
    {
        if (string.IsNullOrWhiteSpace(location))
        {
            throw new ArcaException(ErrorCode.Usage, "No repository given.", "Pass --repo PATH or set ARCA_REPOSITORY.");
        }
        if (location.StartsWith(S3Location.Scheme, StringComparison.OrdinalIgnoreCase))
        {
            S3Location parsed;
            S3Options options;
            try
            {
                parsed = S3Location.Parse(location);
            }
            catch (FormatException ex)
            {
                throw new ArcaException(ErrorCode.Usage, ex.Message, "Check --repo (or ARCA_REPOSITORY).");
            }
            try
            {
                options = S3Options.FromEnvironment(environment);
            }
            catch (FormatException ex)
            {
                throw new ArcaException(ErrorCode.Usage, ex.Message, "Export them as for the AWS command-line tools.");
            }
            return new RetryingStorage(new S3Storage(parsed, options));
        }
        var path = location.StartsWith("local:", StringComparison.Ordinal) ? location["local:".Length..] : location;
        return new LocalStorage(path);
    }
}
