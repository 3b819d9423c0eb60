using System.Diagnostics;
using Arca.Storage.S3;

namespace Arca.TestKit;

/// <summary>
/// The S3-compatible server the tests run against: fauxqs on 127.0.0.1, started at most once per test run
/// through <c>scripts/s3-server start</c> (which installs it the first time and reuses a running one), so a
/// plain <c>dotnet test</c> works as well as the README's test command. Every caller gets a bucket of its own.
/// Port: ARCA_TEST_S3_PORT, default 4566.
/// </summary>
public static class S3TestServer
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static Uri? _endpoint;

    public static int Port { get; } =
        int.TryParse(System.Environment.GetEnvironmentVariable("ARCA_TEST_S3_PORT"), out var port) ? port : 4566;

    /// <summary>Credentials the server accepts (it does not check signatures, but the SDK needs some).</summary>
    public static S3Options Options { get; } = new() { AccessKeyId = "arca-test", SecretAccessKey = "arca-test-secret" };

    /// <summary>The variables a child arca process needs to reach the server.</summary>
    public static IReadOnlyDictionary<string, string> ClientEnvironment { get; } = new Dictionary<string, string>
    {
        ["AWS_ACCESS_KEY_ID"] = Options.AccessKeyId,
        ["AWS_SECRET_ACCESS_KEY"] = Options.SecretAccessKey,
        ["AWS_REGION"] = Options.Region,
    };

    public static async Task<Uri> EndpointAsync(CancellationToken cancellationToken = default)
    {
        await Gate.WaitAsync(cancellationToken);
        try
        {
            return _endpoint ??= await StartAsync(cancellationToken);
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>A new, empty bucket; returns its repository location (<c>s3:http://127.0.0.1:PORT/BUCKET</c>).</summary>
    public static async Task<S3Location> NewBucketAsync(string prefix = "", CancellationToken cancellationToken = default)
    {
        var endpoint = await EndpointAsync(cancellationToken);
        var location = new S3Location(endpoint, "t-" + Guid.NewGuid().ToString("N")[..20], prefix);
        using var storage = new S3Storage(location, Options);
        await storage.CreateAsync(cancellationToken);
        return location;
    }

    private static async Task<Uri> StartAsync(CancellationToken cancellationToken)
    {
        var script = Path.Combine(ArcaBinary.RepositoryRoot, "scripts", "s3-server");
        var start = new ProcessStartInfo("bash", [script, "start"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["S3TEST_PORT"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // Never wipe a server that the test command (or another test process) started and uses.
        start.Environment["S3TEST_RESET"] = "0";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not run scripts/s3-server.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"scripts/s3-server start failed ({process.ExitCode}):\n{await output}\n{await errors}");
        }
        return new Uri($"http://127.0.0.1:{Port}");
    }
}
