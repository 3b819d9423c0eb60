using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Arca.Storage;

namespace Arca.TestKit;

/// <summary>
/// <see cref="TreeAssert"/> for a repository seen through <see cref="IStorage"/> (a bucket has no folders,
/// modes or mtimes): every file of every kind, by its <see cref="StorageKey"/>, with its size and a hash of
/// its bytes. Fails with the first differences, each with its key.
/// </summary>
public static class StorageAssert
{
    private const int MaxReported = 20;

    /// <summary>Every file in <paramref name="storage"/>, keyed "kind/name", read whole to hash it.</summary>
    public static async Task<IReadOnlyDictionary<string, StoredFile>> CaptureAsync(IStorage storage,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var files = new SortedDictionary<string, StoredFile>(StringComparer.Ordinal);
        foreach (var kind in Enum.GetValues<StorageKind>())
        {
            await foreach (var entry in storage.ListAsync(kind, cancellationToken))
            {
                var bytes = await storage.ReadAllAsync(entry.Key, cancellationToken);
                files[entry.Key.ToString()] = new StoredFile(entry.Length, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
            }
        }
        return files;
    }

    /// <summary>Fails unless <paramref name="storage"/> holds exactly the files, and the bytes, that <see cref="CaptureAsync"/> saw before.</summary>
    public static async Task UnchangedAsync(IReadOnlyDictionary<string, StoredFile> before, IStorage storage,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(storage);
        var after = await CaptureAsync(storage, cancellationToken);
        var differences = new List<string>();
        foreach (var key in before.Keys.Union(after.Keys).Order(StringComparer.Ordinal))
        {
            var hasBefore = before.TryGetValue(key, out var b);
            var hasAfter = after.TryGetValue(key, out var a);
            if (!hasAfter)
            {
                differences.Add($"{key}: missing");
            }
            else if (!hasBefore)
            {
                differences.Add(string.Create(CultureInfo.InvariantCulture, $"{key}: not expected, but there are {a!.ReadLength} bytes"));
            }
            else if (a != b)
            {
                differences.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{key}: {a!.ListedLength} bytes listed, {a.ReadLength} read, sha256 {a.Sha256}; expected {b!.ListedLength}, {b.ReadLength}, {b.Sha256}"));
            }
        }
        if (differences.Count > 0)
        {
            var message = new StringBuilder();
            message.Append(CultureInfo.InvariantCulture, $"{storage.Properties.Location} was changed: {differences.Count} differences");
            foreach (var difference in differences.Take(MaxReported))
            {
                message.Append("\n  ").Append(difference);
            }
            if (differences.Count > MaxReported)
            {
                message.Append("\n  ...");
            }
            throw new Xunit.Sdk.XunitException(message.ToString());
        }
    }
}

/// <summary>One file as <see cref="StorageAssert"/> sees it: the length the listing gives, the bytes a read gives, and their hash.</summary>
public sealed record StoredFile(long ListedLength, long ReadLength, string Sha256);
