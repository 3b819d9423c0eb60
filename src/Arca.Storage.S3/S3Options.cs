namespace Arca.Storage.S3;

/// <summary>How Arca talks to an S3-compatible store. Validated once, by <see cref="Validate"/>.</summary>
public sealed record S3Options
{
    public required string AccessKeyId { get; init; }
    public required string SecretAccessKey { get; init; }
    public string? SessionToken { get; init; }

    /// <summary>The signing region; MinIO-like servers accept any, AWS needs the bucket's.</summary>
    public string Region { get; init; } = "us-east-1";

    /// <summary>Requests run at once: parallel pack uploads, and parts of one multipart upload.</summary>
    public int Connections { get; init; } = 16;

    /// <summary>Objects larger than this go up in parts (packs are 16 MiB; a huge tree blob can be larger).</summary>
    public long MultipartThreshold { get; init; } = 32L << 20;

    public int PartSize { get; init; } = 8 << 20;

    /// <summary>One request's limit; a request that takes longer fails as transient and is retried.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Credentials and region from the environment, as the AWS tools read them: AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION (or AWS_DEFAULT_REGION).
    /// </summary>
    public static S3Options FromEnvironment(Func<string, string?> get)
    {
        ArgumentNullException.ThrowIfNull(get);
        var id = get("AWS_ACCESS_KEY_ID");
        var secret = get("AWS_SECRET_ACCESS_KEY");
        if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(secret))
        {
            throw new FormatException("An S3 repository needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment.");
        }
        var region = get("AWS_REGION") is { Length: > 0 } r ? r : get("AWS_DEFAULT_REGION") is { Length: > 0 } d ? d : "us-east-1";
        return new S3Options
        {
            AccessKeyId = id,
            SecretAccessKey = secret,
            SessionToken = get("AWS_SESSION_TOKEN") is { Length: > 0 } token ? token : null,
            Region = region,
        };
    }

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Connections, 1);
        // S3's own limits: parts of at least 5 MiB (all but the last), at most 10,000 of them.
        ArgumentOutOfRangeException.ThrowIfLessThan(PartSize, 5 << 20);
        ArgumentOutOfRangeException.ThrowIfLessThan(MultipartThreshold, PartSize);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RequestTimeout, TimeSpan.Zero);
    }
}
