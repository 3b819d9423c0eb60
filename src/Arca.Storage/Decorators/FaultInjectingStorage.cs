using System.Runtime.CompilerServices;

namespace Arca.Storage.Decorators;

/// <summary>
/// Makes another storage fail the way remote storage does, so the layers above can be tested against it
/// (Kopia's blobtesting/faulty.go, restic's mem backend with error injection). With a seeded random
/// source it fails operations with a transient <see cref="StorageException"/> before they reach the inner
/// storage; it can fail a put after the inner write succeeded (the upload landed, the answer was lost);
/// and it can cut a read short; and it can make every operation wait a while first. Thread-safe; with one caller at a time, the same seed gives the same faults.
/// </summary>
public sealed class FaultInjectingStorage : IStorage
{
    private readonly IStorage _inner;
    private readonly FaultOptions _options;
    private readonly Random _random;
    private readonly Lock _randomLock = new();
    private long _injectedFaults;

    public FaultInjectingStorage(IStorage inner, FaultOptions options)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _inner = inner;
        _options = options;
        _random = new Random(options.Seed);
    }

    public StorageProperties Properties => _inner.Properties;

    public Task CreateAsync(CancellationToken cancellationToken) => _inner.CreateAsync(cancellationToken);

    /// <summary>How many faults have been injected so far, of every sort.</summary>
    public long InjectedFaults => Interlocked.Read(ref _injectedFaults);

    public async Task PutAsync(StorageKey key, Stream content, CancellationToken cancellationToken)
    {
        await LatencyAsync(cancellationToken);
        MaybeFail("write", key);
        await _inner.PutAsync(key, content, cancellationToken);
        if (Chance(_options.FailAfterPutRate))
        {
            Interlocked.Increment(ref _injectedFaults);
            throw new StorageException($"Injected fault: the answer to the write of {key} was lost after the upload.",
                isTransient: true);
        }
    }

    public async Task ReadAsync(StorageKey key, long offset, long length, Func<Stream, CancellationToken, Task> consume,
        CancellationToken cancellationToken)
    {
        await LatencyAsync(cancellationToken);
        MaybeFail("read", key);
        if (!Chance(_options.ShortReadRate))
        {
            await _inner.ReadAsync(key, offset, length, consume, cancellationToken);
            return;
        }
        double fraction;
        lock (_randomLock)
        {
            fraction = _random.NextDouble();
        }
        await _inner.ReadAsync(key, offset, length, (stream, ct) =>
        {
            var available = length > 0 ? length : LengthOf(stream);
            if (available is not > 0)
            {
                // Nothing to cut short (or no way to know how much there is).
                return consume(stream, ct);
            }
            Interlocked.Increment(ref _injectedFaults);
            var cut = (long)(fraction * available.Value);
            // A caller that asked for a length knows how many bytes to expect, so a clean early end is
            // enough for it to notice (ReadExactly throws EndOfStreamException). A caller reading to the
            // end cannot tell a clean early end from the real one; a network stream cut short raises an
            // IOException instead, so that is what it gets.
            return consume(new ShortStream(stream, cut, failAtCut: length == 0, key), ct);
        }, cancellationToken);
    }

    public async Task<StorageEntry?> StatAsync(StorageKey key, CancellationToken cancellationToken)
    {
        await LatencyAsync(cancellationToken);
        MaybeFail("stat", key);
        return await _inner.StatAsync(key, cancellationToken);
    }

    public async IAsyncEnumerable<StorageEntry> ListAsync(StorageKind kind,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await LatencyAsync(cancellationToken);
        if (Chance(_options.FailureRate))
        {
            Interlocked.Increment(ref _injectedFaults);
            throw new StorageException($"Injected fault: could not list {kind.ToString().ToLowerInvariant()} files.",
                isTransient: true);
        }
        await foreach (var entry in _inner.ListAsync(kind, cancellationToken))
        {
            yield return entry;
        }
    }

    public async Task DeleteAsync(StorageKey key, CancellationToken cancellationToken)
    {
        await LatencyAsync(cancellationToken);
        MaybeFail("delete", key);
        await _inner.DeleteAsync(key, cancellationToken);
    }

    private Task LatencyAsync(CancellationToken cancellationToken)
    {
        if (_options.MaxLatency <= TimeSpan.Zero)
        {
            return Task.CompletedTask;
        }
        double fraction;
        lock (_randomLock)
        {
            fraction = _random.NextDouble();
        }
        return Task.Delay(_options.MaxLatency * fraction, cancellationToken);
    }

    private void MaybeFail(string operation, StorageKey key)
    {
        if (Chance(_options.FailureRate))
        {
            Interlocked.Increment(ref _injectedFaults);
            throw new StorageException($"Injected fault: could not {operation} {key}.", isTransient: true);
        }
    }

    private bool Chance(double rate)
    {
        if (rate <= 0)
        {
            return false;
        }
        lock (_randomLock)
        {
            return _random.NextDouble() < rate;
        }
    }

    private static long? LengthOf(Stream stream)
    {
        try
        {
            return stream.Length - (stream.CanSeek ? stream.Position : 0);
        }
        catch (NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>The first <c>cut</c> bytes of a stream, then an early end or an I/O error.</summary>
    private sealed class ShortStream(Stream inner, long cut, bool failAtCut, StorageKey key) : ReadOnlyStream
    {
        private long _read;

        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(Span<byte> buffer)
        {
            if (buffer.IsEmpty)
            {
                return 0;
            }
            if (!HasBytesLeft())
            {
                return 0;
            }
            var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, cut - _read)]);
            _read += n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.IsEmpty)
            {
                return 0;
            }
            if (!HasBytesLeft())
            {
                return 0;
            }
            var n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, cut - _read)], cancellationToken);
            _read += n;
            return n;
        }


        private bool HasBytesLeft()
        {
            if (_read < cut)
            {
                return true;
            }
            if (failAtCut)
            {
                throw new IOException($"Injected fault: the read of {key} was cut short after {cut} bytes.");
            }
            return false;
        }
    }
}
