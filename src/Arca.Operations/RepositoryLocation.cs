using Arca.Storage;
using Arca.Storage.Local;

namespace Arca.Operations;

/// <summary>Turns a --repo value into storage. Today: a local folder; the S3 backend adds its scheme here.</summary>
public static class RepositoryLocation
{
    public static IStorage Open(string location)
    {
        if (string.IsNullOrWhiteSpace(location))
        {
            throw new ArcaException(ErrorCode.Usage, "No repository given.", "Pass --repo PATH or set ARCA_REPOSITORY.");
        }
        if (location.StartsWith("s3:", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArcaException(ErrorCode.Usage, $"The repository location '{location}' uses S3, which this build does not support yet.",
                "Use a local folder for now.");
        }
        var path = location.StartsWith("local:", StringComparison.Ordinal) ? location["local:".Length..] : location;
        return new LocalStorage(path);
    }
}
