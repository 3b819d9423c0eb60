using Arca.Storage.Decorators;
using Arca.Storage.S3;
using Arca.TestKit;

namespace Arca.Storage.Tests;

/// <summary>The contract on a real S3-compatible server (fauxqs on 127.0.0.1), a bucket per test, plus what only S3 shows.</summary>
public sealed class S3StorageTests : StorageContract, IAsyncLifetime
{
    private static readonly CancellationToken None = CancellationToken.None;
    private S3Location? _location;
    private readonly List<S3Storage> _opened = [];

    public async Task InitializeAsync() => _location = await S3TestServer.NewBucketAsync();

    public Task DisposeAsync()
    {
        _opened.ForEach(s => s.Dispose());
        return Task.CompletedTask;
    }

    protected override IStorage CreateStorage() => Open(_location!);

    private S3Storage Open(S3Location location, S3Options? options = null)
    {
        var storage = new S3Storage(location, options ?? S3TestServer.Options);
        _opened.Add(storage);
        return storage;
    }

    [Fact]
    public async Task Prefixes_keep_two_repositories_in_one_bucket_apart()
    {
        var first = Open(_location! with { Prefix = "team/one" });
        var second = Open(_location! with { Prefix = "team/two" });

        await first.PutBytesAsync(Pack("aa01"), Bytes(10), None);
        await second.PutBytesAsync(Pack("bb02"), Bytes(20), None);
        await second.PutBytesAsync(new StorageKey(StorageKind.Config, "config"), Bytes(5), None);

        (await ListAsync(first, StorageKind.Pack)).ShouldBe([new StorageEntry(Pack("aa01"), 10)]);
        (await ListAsync(second, StorageKind.Pack)).ShouldBe([new StorageEntry(Pack("bb02"), 20)]);
        (await first.StatAsync(new StorageKey(StorageKind.Config, "config"), None)).ShouldBeNull();
    }

    [Fact]
    public async Task A_large_object_goes_up_in_parts_and_reads_back_exactly()
    {
        var storage = Open(_location!, S3TestServer.Options with { PartSize = 5 << 20, MultipartThreshold = 5 << 20, Connections = 3 });
        var bytes = Bytes((12 << 20) + 333);
        var key = Pack("cc03");

        await storage.PutBytesAsync(key, bytes, None);

        (await storage.StatAsync(key, None)).ShouldBe(new StorageEntry(key, bytes.Length));
        (await storage.ReadAllAsync(key, None)).ShouldBe(bytes);
        var middle = new byte[1000];
        await storage.ReadIntoAsync(key, (5 << 20) - 500, middle, None);
        middle.ShouldBe(bytes.AsSpan((5 << 20) - 500, 1000).ToArray());
    }

    [Fact]
    public async Task A_staged_pack_larger_than_the_threshold_is_committed_in_parts()
    {
        var storage = Open(_location!, S3TestServer.Options with { PartSize = 5 << 20, MultipartThreshold = 5 << 20 });
        var bytes = Bytes((11 << 20) + 7, seed: 9);
        var key = Pack("dd04");

        await using (var staged = await ((IStorage)storage).StageAsync(StorageKind.Pack, None))
        {
            await staged.AppendAsync(bytes, None);
            await staged.CommitAsync(key, None);
        }

        (await storage.ReadAllAsync(key, None)).ShouldBe(bytes);
    }

    [Fact]
    public async Task A_staged_pack_has_no_name_in_the_temporary_folder_while_it_is_written()
    {
        // Whatever becomes of the writer (killed, or abandoned by a failed backup), its staging file must not be left behind.
        var storage = Open(_location!);
        var before = OpenStagingFiles();

        await using var staged = await ((IStorage)storage).StageAsync(StorageKind.Pack, None);
        await staged.AppendAsync(Bytes(1000, seed: 3), None);

        // Other tests of the assembly may be staging too: every staging file open is nameless, and this one is among them.
        var opened = OpenStagingFiles().Except(before).ToList();
        opened.ShouldNotBeEmpty();
        opened.ShouldAllBe(target => target.EndsWith(" (deleted)", StringComparison.Ordinal));
    }

    /// <summary>What this process's open descriptors point to in the temporary folder's staging files (Linux: /proc/self/fd).</summary>
    private static HashSet<string> OpenStagingFiles()
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (var descriptor in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                var target = new FileInfo(descriptor).LinkTarget;
                if (target is not null && target.StartsWith(Path.Combine(Path.GetTempPath(), "arca-stage-"), StringComparison.Ordinal))
                {
                    found.Add(target);
                }
            }
            catch (IOException)
            {
                // The descriptor closed while the folder was read.
            }
        }
        return found;
    }

    [Fact]
    public async Task A_second_write_of_a_name_leaves_the_first_in_place()
    {
        // Names are written once (If-None-Match: *): a racing writer of the same name does not replace it.
        var storage = CreateStorage();
        var key = new StorageKey(StorageKind.Config, "config");

        await storage.PutBytesAsync(key, Bytes(100, seed: 1), None);
        await storage.PutBytesAsync(key, Bytes(100, seed: 2), None);

        (await storage.ReadAllAsync(key, None)).ShouldBe(Bytes(100, seed: 1));
    }

    [Fact]
    public async Task A_server_that_does_not_answer_is_a_transient_error_naming_the_location()
    {
        // A port on 127.0.0.1 where nothing listens: connection refused at once.
        var location = new S3Location(new Uri("http://127.0.0.1:9"), "nobucket", "");
        var storage = Open(location, S3TestServer.Options with { RequestTimeout = TimeSpan.FromSeconds(5) });

        var error = await Should.ThrowAsync<StorageException>(() => storage.StatAsync(Pack("ab"), None));

        error.IsTransient.ShouldBeTrue();
        error.Message.ShouldContain("s3:http://127.0.0.1:9/nobucket");
    }

    [Fact]
    public async Task A_missing_bucket_has_no_files_and_cannot_be_listed()
    {
        var storage = Open(_location! with { Bucket = "no-such-bucket-" + Guid.NewGuid().ToString("N")[..8] });

        (await storage.StatAsync(new StorageKey(StorageKind.Config, "config"), None)).ShouldBeNull();
        var error = await Should.ThrowAsync<StorageException>(() => ListAsync(storage, StorageKind.Snapshot));
        error.IsTransient.ShouldBeFalse();
    }

    [Fact]
    public async Task Retrying_over_S3_with_injected_faults_keeps_every_byte()
    {
        var faulty = new FaultInjectingStorage(CreateStorage(),
            new FaultOptions { FailureRate = 0.2, FailAfterPutRate = 0.2, ShortReadRate = 0.2, Seed = 7 });
        var storage = new RetryingStorage(faulty, new RetryOptions { MaxRetryAttempts = 12 }, new InstantTimeProvider());
        var keys = Enumerable.Range(0, 20).Select(i => Pack($"ee{i:x4}")).ToArray();

        foreach (var key in keys)
        {
            await storage.PutBytesAsync(key, Bytes(70_000, seed: key.GetHashCode()), None);
        }

        foreach (var key in keys)
        {
            (await storage.ReadAllAsync(key, None)).ShouldBe(Bytes(70_000, seed: key.GetHashCode()));
        }
        (await ListAsync(storage, StorageKind.Pack)).Count.ShouldBe(keys.Length);
    }
}

public sealed class S3LocationTests
{
    [Theory]
    [InlineData("s3:http://127.0.0.1:4566/bucket", "http://127.0.0.1:4566/", "bucket", "")]
    [InlineData("s3:https://s3.example.com/my-bucket/a/b/", "https://s3.example.com/", "my-bucket", "a/b")]
    [InlineData("S3:http://localhost:9000/b.c-d/prefix", "http://localhost:9000/", "b.c-d", "prefix")]
    public void Locations_parse_into_endpoint_bucket_and_prefix(string text, string endpoint, string bucket, string prefix)
    {
        var location = S3Location.Parse(text);

        location.Endpoint.ShouldBe(new Uri(endpoint));
        location.Bucket.ShouldBe(bucket);
        location.Prefix.ShouldBe(prefix);
    }

    [Theory]
    [InlineData("s3:127.0.0.1:4566/bucket", "no http:// or https:// endpoint")]
    [InlineData("s3:ftp://host/bucket", "no http:// or https:// endpoint")]
    [InlineData("s3:http://host:1/", "names no bucket")]
    [InlineData("s3:http://host:1/Bucket", "is not a valid bucket name")]
    [InlineData("s3:http://host:1/ab", "is not a valid bucket name")]
    [InlineData("s3:http://user:pw@host:1/bucket", "AWS_ACCESS_KEY_ID")]
    [InlineData("s3:http://host:1/bucket/a//b", "empty, '.' or '..' part")]
    [InlineData("s3:http://host:1/bucket/../x", "empty, '.' or '..' part")]
    public void Bad_locations_are_refused_with_what_is_wrong(string text, string message)
    {
        Should.Throw<FormatException>(() => S3Location.Parse(text)).Message.ShouldContain(message);
    }

    [Fact]
    public void Credentials_come_from_the_environment_and_their_absence_is_named()
    {
        var env = new Dictionary<string, string> { ["AWS_ACCESS_KEY_ID"] = "id", ["AWS_SECRET_ACCESS_KEY"] = "secret", ["AWS_DEFAULT_REGION"] = "eu-west-1" };

        var options = S3Options.FromEnvironment(name => env.GetValueOrDefault(name));

        options.AccessKeyId.ShouldBe("id");
        options.Region.ShouldBe("eu-west-1");
        options.SessionToken.ShouldBeNull();
        Should.Throw<FormatException>(() => S3Options.FromEnvironment(_ => null)).Message.ShouldContain("AWS_SECRET_ACCESS_KEY");
    }
}
