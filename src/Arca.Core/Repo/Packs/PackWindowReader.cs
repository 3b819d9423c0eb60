using Arca.Repo.Index;
using Arca.Storage;

namespace Arca.Repo.Packs;

/// <summary>
/// Reads blobs out of packs on remote storage, where each request costs a round trip. A blob of
/// <see cref="WindowedBelow"/> bytes or more is fetched alone, exactly. A smaller one is fetched together with
/// the small blobs that follow it in its pack (a window of up to <see cref="WindowSize"/> bytes): a restore of
/// the next files in tree order usually wants them next (a backup wrote them in that order), so one request
/// serves dozens of small files. A window never takes in a large blob, which would be fetched twice; readers
/// that want a window being fetched wait for that fetch; at most <see cref="MaxWindows"/> are kept, the least
/// recently used going first.
/// </summary>
internal sealed class PackWindowReader(IStorage storage, BlobIndex index)
{
    public const int WindowSize = 4 << 20;
    public const int WindowedBelow = 256 << 10;
    public const int MaxWindows = 8;

    private sealed record Window(PackId Pack, long Start, long End, Task<byte[]> Bytes)
    {
        public long LastUse;
    }

    private readonly List<Window> _windows = [];
    private long _clock;

    // Where each indexed blob lies in its pack, sorted by offset; built on first use from the index as it was
    // then (packs added later, by this process's own backup, are read a blob at a time).
    private readonly Lazy<Dictionary<PackId, (long Start, long End)[]>> _layouts = new(() => index.ByPack().ToDictionary(
        p => p.Key,
        p => p.Value.Select(e => ((long)e.Offset, (long)e.Offset + e.StoredLength)).Order().ToArray()));

    /// <summary>Fills <paramref name="destination"/> with the pack's bytes at <paramref name="offset"/>.</summary>
    public async Task ReadIntoAsync(PackId pack, long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var window = destination.Length < WindowedBelow ? Find(pack, offset, destination.Length) : null;
        if (window is null)
        {
            await storage.ReadIntoAsync(Key(pack), offset, destination, cancellationToken);
            return;
        }
        byte[] bytes;
        try
        {
            bytes = await window.Bytes.WaitAsync(cancellationToken);
        }
        catch when (!cancellationToken.IsCancellationRequested)
        {
            // A failed fetch is not kept: the next reader tries again (the storage has retried already).
            lock (_windows)
            {
                _windows.Remove(window);
            }
            throw;
        }
        bytes.AsMemory((int)(offset - window.Start), destination.Length).CopyTo(destination);
    }

    /// <summary>The window holding the range, started if need be; null when the blob has no small neighbours.</summary>
    private Window? Find(PackId pack, long offset, int length)
    {
        lock (_windows)
        {
            foreach (var w in _windows)
            {
                if (w.Pack == pack && offset >= w.Start && offset + length <= w.End)
                {
                    w.LastUse = ++_clock;
                    return w;
                }
            }
            var end = WindowEnd(pack, offset, offset + length);
            if (end == offset + length)
            {
                return null;
            }
            var window = new Window(pack, offset, end, FetchAsync(pack, offset, (int)(end - offset))) { LastUse = ++_clock };
            if (_windows.Count >= MaxWindows)
            {
                _windows.Remove(_windows.MinBy(w => w.LastUse)!);
            }
            _windows.Add(window);
            return window;
        }
    }

    /// <summary>Extends [offset, end) over the small blobs that follow it back to back, up to the window size.</summary>
    private long WindowEnd(PackId pack, long offset, long end)
    {
        if (!_layouts.Value.TryGetValue(pack, out var blobs))
        {
            return end;
        }
        var i = Array.BinarySearch(blobs, (offset, end));
        if (i < 0)
        {
            return end;
        }
        for (i++; i < blobs.Length; i++)
        {
            var (start, next) = blobs[i];
            if (start != end || next - start >= WindowedBelow || next - offset > WindowSize)
            {
                break;
            }
            end = next;
        }
        return end;
    }

    private async Task<byte[]> FetchAsync(PackId pack, long offset, int length)
    {
        // Not cancelled with one reader's token: others may be waiting for the same window.
        var bytes = GC.AllocateUninitializedArray<byte>(length);
        await storage.ReadIntoAsync(Key(pack), offset, bytes, CancellationToken.None);
        return bytes;
    }

    private static StorageKey Key(PackId pack) => new(StorageKind.Pack, pack.ToString());
}
