using System.Runtime.CompilerServices;
using Polly;
using Polly.Retry;

namespace Arca.Storage.Decorators;

/// <summary>
/// Retries what another storage says may succeed if tried again, and nothing else: the one place where
/// Arca retries storage (restic's internal/backend/retry). It acts on <see cref="StorageException.IsTransient"/>;
/// for reads it also retries an <see cref="EndOfStreamException"/> or <see cref="IOException"/> raised while
/// the callback consumed the stream (a connection cut mid-transfer), calling the callback again as
/// <see cref="IStorage.ReadAsync"/> allows. Missing files, bad ranges and other permanent errors pass through
/// at once. Waits between attempts grow exponentially with jitter (Polly.Core); the waits use the injected
/// <see cref="TimeProvider"/>, so tests never sleep, and cancellation ends them.
/// </summary>
public sealed class RetryingStorage : IStorage
{
    private readonly IStorage _inner;
    private readonly ResiliencePipeline _pipeline;
    private readonly ResiliencePipeline _readPipeline;

    public RetryingStorage(IStorage inner, RetryOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        options ??= new RetryOptions();
        options.Validate();
        _inner = inner;
        Options = options;
        _pipeline = Build(options, timeProvider ?? TimeProvider.System, reading: false);
        _readPipeline = Build(options, timeProvider ?? TimeProvider.System, reading: true);
    }

    public StorageProperties Properties => _inner.Properties;

    public Task CreateAsync(CancellationToken cancellationToken) =>
        RunAsync(reading: false, ct => new ValueTask(_inner.CreateAsync(ct)), cancellationToken);

    public RetryOptions Options { get; }

    public async Task PutAsync(StorageKey key, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (!content.CanSeek)
        {
            // IStorage asks for a rewindable stream; without one a second attempt would write a torn file.
            throw new ArgumentException($"The content for {key} must be a seekable stream so a failed write can be retried.",
                nameof(content));
        }
        var start = content.Position;
        await RunAsync(reading: false, async ct =>
        {
            content.Position = start;
            await _inner.PutAsync(key, content, ct);
        }, cancellationToken);
    }

    public Task ReadAsync(StorageKey key, long offset, long length, Func<Stream, CancellationToken, Task> consume,
        CancellationToken cancellationToken) =>
        RunAsync(reading: true, ct => new ValueTask(_inner.ReadAsync(key, offset, length, consume, ct)), cancellationToken);

    public async Task<StorageEntry?> StatAsync(StorageKey key, CancellationToken cancellationToken)
    {
        StorageEntry? entry = null;
        await RunAsync(reading: false, async ct => entry = await _inner.StatAsync(key, ct), cancellationToken);
        return entry;
    }

    public async IAsyncEnumerable<StorageEntry> ListAsync(StorageKind kind,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // A listing that fails halfway is started again; collecting each attempt before yielding keeps the
        // caller from seeing an entry twice. Entries are a name and a length, so even a large repository's
        // pack list fits in memory comfortably.
        List<StorageEntry> entries = [];
        await RunAsync(reading: false, async ct =>
        {
            List<StorageEntry> attempt = [];
            await foreach (var entry in _inner.ListAsync(kind, ct))
            {
                attempt.Add(entry);
            }
            entries = attempt;
        }, cancellationToken);
        foreach (var entry in entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return entry;
        }
    }

    public Task DeleteAsync(StorageKey key, CancellationToken cancellationToken) =>
        RunAsync(reading: false, ct => new ValueTask(_inner.DeleteAsync(key, ct)), cancellationToken);

    // Polly (8.9) ends with OperationCanceledException when the caller cancels, whether during a wait or
    // right after a failed attempt, so nothing more is needed here for cancellation.
    private Task RunAsync(bool reading, Func<CancellationToken, ValueTask> operation, CancellationToken cancellationToken) =>
        (reading ? _readPipeline : _pipeline).ExecuteAsync(operation, cancellationToken).AsTask();

    private static ResiliencePipeline Build(RetryOptions options, TimeProvider timeProvider, bool reading)
    {
        if (options.MaxRetryAttempts == 0)
        {
            return ResiliencePipeline.Empty;
        }
        return new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex && IsRetryable(ex, reading)),
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.BaseDelay,
                MaxDelay = options.MaxDelay,
            })
            .Build();
    }

    private static bool IsRetryable(Exception exception, bool reading) => exception switch
    {
        StorageException storage => storage.IsTransient,
        // Raised by the read callback when the stream ends early or breaks: the bytes may come whole next time.
        EndOfStreamException => reading,
        FileNotFoundException or DirectoryNotFoundException => false,
        IOException => reading,
        _ => false,
    };
}
