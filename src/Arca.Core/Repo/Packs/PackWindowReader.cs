using Arca.Storage;

namespace Arca.Repo.Packs;

/// <summary>
/// Reads blobs out of packs on remote storage a window at a time: the first read in a region of a pack fetches
/// up to <see cref="WindowSize"/> bytes from there (never past the pack's last blob), and the next blobs in
/// that region, which a restore of the next files in tree order usually wants (a backup wrote them in that
/// order), come from memory. One request serves dozens of small files instead of one each. Readers that want
/// a window being fetched wait for that fetch. At most <see cref="MaxWindows"/> windows are kept, the least
/// recently used going first.
/// </summary>
internal sealed class PackWindowReader(IStorage storage, Func<PackId, long> dataEnd)
{
    public const int WindowSize = 8 << 20;
    public const int MaxWindows = 4;

    private sealed record Window(PackId Pack, long Start, long End, Task<byte[]> Bytes)
    {
        public long LastUse;
    }

    private readonly List<Window> _windows = [];
    private long _clock;

    /// <summary>Fills <paramref name="destination"/> with the pack's bytes at <paramref name="offset"/>.</summary>
    public async Task ReadIntoAsync(PackId pack, long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (destination.Length > WindowSize / 2)
        {
            // A big blob gains nothing from a window, and would push out the small ones around it.
            await storage.ReadIntoAsync(Key(pack), offset, destination, cancellationToken);
            return;
        }
        var window = Find(pack, offset, destination.Length);
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

    private Window Find(PackId pack, long offset, int length)
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
            var end = Math.Max(offset + length, Math.Min(offset + WindowSize, dataEnd(pack)));
            var window = new Window(pack, offset, end, FetchAsync(pack, offset, (int)(end - offset))) { LastUse = ++_clock };
            if (_windows.Count >= MaxWindows)
            {
                _windows.Remove(_windows.MinBy(w => w.LastUse)!);
            }
            _windows.Add(window);
            return window;
        }
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
