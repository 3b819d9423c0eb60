using System.Collections.Concurrent;
using Arca.Repo.Format;

namespace Arca.Repo.Index;

/// <summary>
/// Maps blob id to pack and position, built from the index files (or rebuilt from pack trailers).
/// Safe for concurrent readers and writers: the backup adds packs while its workers look blobs up.
/// Packs are interned as small integers so an entry costs the id, one int and the position.
/// </summary>
public sealed class BlobIndex
{
    private readonly ConcurrentDictionary<BlobId, Slot> _blobs = new();
    private readonly List<PackId> _packs = [];
    // Per pack number, a bit per blob type it holds (1 << type).
    private readonly List<byte> _packTypes = [];
    // Per pack number, how many blobs the index places there (a blob stored twice counts for the pack named first).
    private readonly List<int> _packBlobs = [];
    private readonly Dictionary<PackId, int> _packNumbers = [];
    private readonly Lock _packLock = new();

    private readonly record struct Slot(int Pack, uint Offset, uint StoredLength, uint RawLength, BlobType Type, bool Compressed);

    public int Count => _blobs.Count;

    public int PackCount
    {
        get { lock (_packLock) return _packs.Count; }
    }

    public void AddPack(PackId pack, IEnumerable<BlobEntry> blobs)
    {
        var types = (byte)0;
        foreach (var blob in blobs)
        {
            types |= (byte)(1 << (int)blob.Type);
        }
        int number;
        lock (_packLock)
        {
            if (!_packNumbers.TryGetValue(pack, out number))
            {
                number = _packs.Count;
                _packs.Add(pack);
                _packTypes.Add(0);
                _packBlobs.Add(0);
                _packNumbers[pack] = number;
            }
            _packTypes[number] |= types;
        }
        var added = 0;
        foreach (var blob in blobs)
        {
            // The first copy wins; a duplicate (two clients stored the same blob) is harmless.
            if (_blobs.TryAdd(blob.Id, new Slot(number, blob.Offset, blob.StoredLength, blob.RawLength, blob.Type, blob.Compressed)))
            {
                added++;
            }
        }
        lock (_packLock)
        {
            _packBlobs[number] += added;
        }
    }

    /// <summary>How many blobs the index places in <paramref name="pack"/> (0 for a pack it does not know).</summary>
    public int CountIn(PackId pack)
    {
        lock (_packLock)
        {
            return _packNumbers.TryGetValue(pack, out var number) ? _packBlobs[number] : 0;
        }
    }

    public bool Contains(BlobId id) => _blobs.ContainsKey(id);

    /// <summary>Whether every blob the index knows in <paramref name="pack"/> is of <paramref name="type"/> (false for a pack it does not know).</summary>
    public bool HoldsOnly(PackId pack, BlobType type)
    {
        lock (_packLock)
        {
            return _packNumbers.TryGetValue(pack, out var number) && _packTypes[number] == 1 << (int)type;
        }
    }

    public bool TryGet(BlobId id, out IndexLocation location)
    {
        if (_blobs.TryGetValue(id, out var slot))
        {
            PackId pack;
            lock (_packLock)
            {
                pack = _packs[slot.Pack];
            }
            location = new IndexLocation(pack, new BlobEntry(id, slot.Type, slot.Compressed, slot.Offset, slot.StoredLength, slot.RawLength));
            return true;
        }
        location = default;
        return false;
    }

    /// <summary>Every pack the index names, with its blobs (for check, and for rewriting the index).</summary>
    public Dictionary<PackId, List<BlobEntry>> ByPack()
    {
        PackId[] packs;
        lock (_packLock)
        {
            packs = [.. _packs];
        }
        var result = new Dictionary<PackId, List<BlobEntry>>(packs.Length);
        foreach (var pack in packs)
        {
            result[pack] = [];
        }
        foreach (var (id, slot) in _blobs)
        {
            result[packs[slot.Pack]].Add(new BlobEntry(id, slot.Type, slot.Compressed, slot.Offset, slot.StoredLength, slot.RawLength));
        }
        return result;
    }
}
