using Arca.Storage;
using Arca.Storage.Local;
using Arca.Storage.S3;
using Arca.TestKit;

namespace Arca.Cli.Tests;

/// <summary>
/// One test's world: its own temp folder holding a source folder and restore targets, a repository (a folder
/// in the temp folder, or a fresh bucket on the S3 test server) that ARCA_REPOSITORY points to, and a runner
/// for the CLI in process or as the built program. What a test does with the repository's files goes through
/// the backend-neutral helpers here, so one test runs unchanged against both backends.
/// </summary>
internal sealed class CliSandbox : IAsyncDisposable
{
    private readonly S3Location? _bucket;
    private readonly List<IStorage> _opened = [];
    private readonly Lazy<IStorage> _storage;

    private CliSandbox(Backend backend, TempDirectory temp, S3Location? bucket)
    {
        Backend = backend;
        Temp = temp;
        _bucket = bucket;
        Repository = bucket?.ToString() ?? Temp.Combine("repo");
        Source = Temp.Combine("src");
        Runner = CreateRunner();
        _storage = new Lazy<IStorage>(OpenStorage);
    }

    /// <summary>A sandbox with an empty repository location: a folder that does not exist yet, or a new empty bucket.</summary>
    public static async Task<CliSandbox> CreateAsync(Backend backend)
    {
        var bucket = backend == Backend.S3 ? await S3TestServer.NewBucketAsync() : null;
        return new CliSandbox(backend, new TempDirectory("cli"), bucket);
    }

    public Backend Backend { get; }
    public TempDirectory Temp { get; }

    /// <summary>The repository location as the CLI takes it: a folder path, or <c>s3:http://127.0.0.1:PORT/BUCKET</c>.</summary>
    public string Repository { get; }

    /// <summary>Where a fixture is materialised; a backup of it is stored as "/src".</summary>
    public string Source { get; }

    /// <summary>Runs arca on this sandbox's repository, with the S3 credentials when the backend is S3.</summary>
    public CliRunner Runner { get; }

    public string Path(params string[] parts) => Temp.Combine(parts);

    /// <summary>A new runner on this sandbox's repository (and credentials), with its own clock.</summary>
    public CliRunner CreateRunner(TimeProvider? time = null)
    {
        var runner = new CliRunner(Repository) { Time = time ?? TimeProvider.System };
        // A remote repository's tree packs are cached here, not in the home folder of whoever runs the tests.
        runner.Environment["ARCA_CACHE_DIR"] = Temp.Combine("cache");
        foreach (var (name, value) in BackendEnvironment(Backend))
        {
            runner.Environment[name] = value;
        }
        return runner;
    }

    /// <summary>The variables a run needs besides ARCA_*: none for a folder, the AWS_* credentials for S3.</summary>
    public static IReadOnlyDictionary<string, string> BackendEnvironment(Backend backend) =>
        backend == Backend.S3 ? S3TestServer.ClientEnvironment : new Dictionary<string, string>();

    /// <summary>
    /// <see cref="Runner"/>'s variables without the unset ones, for <see cref="BuiltProgram"/> (which starts the
    /// program itself, to kill it or give it more time).
    /// </summary>
    public Dictionary<string, string> BinaryEnvironment() =>
        Runner.Environment.Where(e => e.Value is not null).ToDictionary(e => e.Key, e => e.Value!, StringComparer.Ordinal);

    /// <summary>Runs in process, or the built program when <paramref name="binary"/> is set.</summary>
    public Task<CliResult> RunAsync(bool binary, params string[] args) =>
        binary ? Runner.RunBinaryAsync(args) : Runner.RunAsync(args);

    public Task<CliResult> RunAsync(params string[] args) => Runner.RunAsync(args);

    public async Task InitAsync(bool binary = false) => (await RunAsync(binary, "init")).ShouldSucceed();

    /// <summary>Materialises <paramref name="tree"/> in <see cref="Source"/>, creates the repository and backs it up once.</summary>
    public async Task<string> InitAndBackupAsync(TreeFixture tree)
    {
        tree.CreateIn(Source);
        await InitAsync();
        return await BackupAsync();
    }

    /// <summary>Backs up <see cref="Source"/> and returns the new snapshot's id.</summary>
    public async Task<string> BackupAsync()
    {
        var result = await RunAsync("backup", Source, "--json");
        result.ShouldSucceed();
        using var json = result.Json();
        return json.RootElement.GetProperty("snapshot_id").GetString()!;
    }

    public async Task<List<string>> SnapshotIdsAsync()
    {
        var result = await RunAsync("snapshots", "--json");
        result.ShouldSucceed();
        using var json = result.Json();
        return [.. json.RootElement.EnumerateArray().Select(s => s.GetProperty("id").GetString()!)];
    }

    /// <summary>The repository's storage, as a test sees it from outside the CLI; closed when the sandbox is disposed.</summary>
    public IStorage OpenStorage()
    {
        IStorage storage = _bucket is null ? new LocalStorage(Repository) : new S3Storage(_bucket, S3TestServer.Options);
        lock (_opened)
        {
            _opened.Add(storage);
        }
        return storage;
    }

    /// <summary>
    /// The repository as it is now, for <see cref="AssertUnchangedAsync"/>. For a folder every entry with its
    /// bytes, mode, owner and mtimes (<see cref="TreeAssert"/>); for a bucket every file of every kind with its bytes.
    /// </summary>
    public async Task<RepositoryState> CaptureAsync() => _bucket is null
        ? new RepositoryState(TreeAssert.Capture(Repository), null)
        : new RepositoryState(null, await StorageAssert.CaptureAsync(_storage.Value));

    /// <summary>Fails unless the repository is still exactly as <paramref name="before"/> saw it.</summary>
    public async Task AssertUnchangedAsync(RepositoryState before)
    {
        ArgumentNullException.ThrowIfNull(before);
        if (before.Folder is not null)
        {
            TreeAssert.Unchanged(before.Folder, Repository);
        }
        else
        {
            await StorageAssert.UnchangedAsync(before.Objects!, _storage.Value);
        }
    }

    /// <summary>
    /// The names of the stored files of <paramref name="kind"/>. For a folder, every file in the kind's folder as
    /// it is on disk, temporary files included (stricter than a listing through storage, which skips them).
    /// </summary>
    public async Task<List<string>> NamesAsync(StorageKind kind)
    {
        if (_bucket is null)
        {
            if (kind == StorageKind.Config)
            {
                return File.Exists(System.IO.Path.Combine(Repository, StorageLayout.ConfigName)) ? [StorageLayout.ConfigName] : [];
            }
            // init makes every kind's folder: a missing one throws here.
            var folder = System.IO.Path.Combine(Repository, StorageLayout.FolderOf(kind));
            return [.. Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Select(f => System.IO.Path.GetFileName(f)).Order(StringComparer.Ordinal)];
        }
        var names = new List<string>();
        await foreach (var entry in _storage.Value.ListAsync(kind, CancellationToken.None))
        {
            names.Add(entry.Key.Name);
        }
        return [.. names.Order(StringComparer.Ordinal)];
    }

    /// <summary>The names of the repository's packs (<see cref="NamesAsync"/>).</summary>
    public Task<List<string>> PackNamesAsync() => NamesAsync(StorageKind.Pack);

    /// <summary>The bytes of one stored file.</summary>
    public Task<byte[]> ReadFileAsync(StorageKey key) => _storage.Value.ReadAllAsync(key, CancellationToken.None);

    /// <summary>
    /// Replaces the bytes of one stored file, as a corrupting disk or a meddling user would. A folder's file is
    /// rewritten in place with its mode kept (repository files are read-only); an object, which is written
    /// once, is deleted and written again.
    /// </summary>
    public async Task ReplaceFileAsync(StorageKey key, byte[] bytes)
    {
        if (_bucket is null)
        {
            var path = new LocalStorage(Repository).PathOf(key);
            var mode = File.GetUnixFileMode(path);
            File.SetUnixFileMode(path, mode | UnixFileMode.UserWrite);
            await File.WriteAllBytesAsync(path, bytes);
            File.SetUnixFileMode(path, mode);
            return;
        }
        var storage = _storage.Value;
        await storage.DeleteAsync(key, CancellationToken.None);
        await storage.PutBytesAsync(key, bytes, CancellationToken.None);
        (await storage.ReadAllAsync(key, CancellationToken.None)).ShouldBe(bytes, $"{key} was not replaced");
    }

    /// <summary>Deletes the temp folder and, for S3, every object in the bucket (best effort: a failure here would hide the test's own).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_bucket is not null)
        {
            try
            {
                using var storage = new S3Storage(_bucket, S3TestServer.Options);
                foreach (var kind in Enum.GetValues<StorageKind>())
                {
                    var keys = new List<StorageKey>();
                    await foreach (var entry in storage.ListAsync(kind, CancellationToken.None))
                    {
                        keys.Add(entry.Key);
                    }
                    await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 8 },
                        async (key, ct) => await storage.DeleteAsync(key, ct));
                }
            }
            catch (StorageException)
            {
            }
        }
        foreach (var storage in _opened)
        {
            (storage as IDisposable)?.Dispose();
        }
        Temp.Dispose();
    }
}

/// <summary>What <see cref="CliSandbox.CaptureAsync"/> saw: a folder's entries or a bucket's files.</summary>
internal sealed record RepositoryState(
    IReadOnlyDictionary<string, TreeEntry>? Folder,
    IReadOnlyDictionary<string, StoredFile>? Objects);
