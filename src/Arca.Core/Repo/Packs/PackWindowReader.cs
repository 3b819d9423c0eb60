using Arca.Repo.Index;
using Arca.Storage;

namespace Arca.Repo.Packs;

/// <summary>
/// Reads blobs out of packs on remote storage, where each request costs a round trip and the server's work. A
/// pack is cut into blocks of <see cref="BlockSize"/> bytes, and a blob is fetched together with its
/// neighbours in its block: the run of back-to-back blobs, each under the block size, that start in the same
/// block (a window). A restore wants them soon (a backup wrote files in tree order, and a restore walks them
/// in that order, each large file's chunks one after another), and a walk of every tree (prune, check) wants
/// all of a tree pack. Windows depend only on the pack's layout, never on the order of requests, so they never
/// overlap: workers asking out of order cannot make the same bytes be fetched twice. (Fetching each chunk of
/// 256 KiB or more alone, as this did before, cost a request per chunk: against an S3 server on this machine,
/// its work per request was most of a restore's time.) A blob of the block size or more is fetched alone.
/// Readers that want a window being fetched wait for that fetch; at most <see cref="MaxWindows"/> are kept, the
/// least recently used going first: enough for every worker of a restore to stream its own file through a
/// window of its own while the others do the same.
/// </summary>
internal sealed class PackWindowReader(IStorage storage, BlobIndex index)
{
    public const int BlockSize = 2 << 20;

    /// <summary>The most a window spans: blobs start within one block and each is smaller than a block.</summary>
    public const int WindowSize = 2 * BlockSize;

    public const int MaxWindows = 16;

    /// <summary>
    /// A kept range of a pack. Its buffer is one of this reader's own (<see cref="WindowSize"/> bytes, reused), so
    /// it goes back only when nobody holds it: the list while it is kept, the fetch while it runs, each reader
    /// while it copies. (Arrays allocated per fetch and left to the GC were large-object garbage that a restore
    /// from S3 collected too rarely: hundreds of MiB at its peak.)
    /// </summary>
    private sealed class Window(PackId pack, long start, long end, byte[] buffer)
    {
        public PackId Pack { get; } = pack;
        public long Start { get; } = start;
        public long End { get; } = end;
        public byte[] Buffer { get; } = buffer;
        public Task Fetch { get; set; } = Task.CompletedTask;
        public long LastUse;
        public int Holders;
    }

    private readonly List<Window> _windows = [];
    private readonly Stack<byte[]> _spare = new();
    private long _clock;

    // Where each indexed blob lies in its pack, sorted by offset; built on first use from the index as it was
    // then (packs added later, by this process's own backup, are read a blob at a time).
    private readonly Lazy<Dictionary<PackId, (long Start, long End)[]>> _layouts = new(() => index.ByPack().ToDictionary(
        p => p.Key,
        p => p.Value.Select(e => ((long)e.Offset, (long)e.Offset + e.StoredLength)).Order().ToArray()));

    /// <summary>Fills <paramref name="destination"/> with the pack's bytes at <paramref name="offset"/>.</summary>
    public async Task ReadIntoAsync(PackId pack, long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var window = destination.Length < BlockSize ? Find(pack, offset, destination.Length) : null;
        if (window is null)
        {
            await storage.ReadIntoAsync(Key(pack), offset, destination, cancellationToken);
            return;
        }
        try
        {
            await window.Fetch.WaitAsync(cancellationToken);
            window.Buffer.AsMemory((int)(offset - window.Start), destination.Length).CopyTo(destination);
        }
        catch when (!cancellationToken.IsCancellationRequested && window.Fetch.IsFaulted)
        {
            // A failed fetch is not kept: the next reader tries again (the storage has retried already).
            Drop(window);
            throw;
        }
        finally
        {
            Release(window);
        }
    }

    /// <summary>The window holding the range (held for the caller), started if need be; null when no neighbour fits in one with it.</summary>
    private Window? Find(PackId pack, long offset, int length)
    {
        lock (_windows)
        {
            foreach (var w in _windows)
            {
                if (w.Pack == pack && offset >= w.Start && offset + length <= w.End)
                {
                    w.LastUse = ++_clock;
                    w.Holders++;
                    return w;
                }
            }
            if (WindowAround(pack, offset, offset + length) is not { } range)
            {
                return null;
            }
            var (start, end) = range;
            if (_windows.Count >= MaxWindows)
            {
                DropLocked(_windows.MinBy(w => w.LastUse)!);
            }
            // Held by the list, by its fetch and by the reader that asked.
            var window = new Window(pack, start, end, _spare.Count > 0 ? _spare.Pop() : GC.AllocateUninitializedArray<byte>(WindowSize))
            {
                LastUse = ++_clock,
                Holders = 3,
            };
            window.Fetch = FetchAsync(window);
            _windows.Add(window);
            return window;
        }
    }

    /// <summary>
    /// The window of the blob at [<paramref name="offset"/>, <paramref name="end"/>): the run of back-to-back blobs around
    /// it that are each under the block size and start in its block. Null when the blob would be alone in it, or is not in
    /// the layout (packs added since it was read).
    /// </summary>
    private (long Start, long End)? WindowAround(PackId pack, long offset, long end)
    {
        if (!_layouts.Value.TryGetValue(pack, out var blobs))
        {
            return null;
        }
        var i = Array.BinarySearch(blobs, (offset, end));
        if (i < 0)
        {
            return null;
        }
        var block = offset / BlockSize;
        bool InWindow(int k) => blobs[k].End - blobs[k].Start < BlockSize && blobs[k].Start / BlockSize == block;
        var first = i;
        while (first > 0 && InWindow(first - 1) && blobs[first - 1].End == blobs[first].Start)
        {
            first--;
        }
        var last = i;
        while (last + 1 < blobs.Length && InWindow(last + 1) && blobs[last + 1].Start == blobs[last].End)
        {
            last++;
        }
        return first == last ? null : (blobs[first].Start, blobs[last].End);
    }

    private async Task FetchAsync(Window window)
    {
        try
        {
            // Not cancelled with one reader's token: others may be waiting for the same window.
            await storage.ReadIntoAsync(Key(window.Pack), window.Start, window.Buffer.AsMemory(0, (int)(window.End - window.Start)), CancellationToken.None);
        }
        finally
        {
            Release(window);
        }
    }

    private void Drop(Window window)
    {
        lock (_windows)
        {
            DropLocked(window);
        }
    }

    private void DropLocked(Window window)
    {
        if (_windows.Remove(window))
        {
            ReleaseLocked(window);
        }
    }

    private void Release(Window window)
    {
        lock (_windows)
        {
            ReleaseLocked(window);
        }
    }

    /// <summary>One holder lets go; the last one puts the buffer back (as many as the list can hold are kept).</summary>
    private void ReleaseLocked(Window window)
    {
        if (--window.Holders == 0 && _spare.Count < MaxWindows)
        {
            _spare.Push(window.Buffer);
        }
    }

    private static StorageKey Key(PackId pack) => new(StorageKind.Pack, pack.ToString());
}
