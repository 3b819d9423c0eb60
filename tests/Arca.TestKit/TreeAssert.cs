using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Arca.Native;

namespace Arca.TestKit;

/// <summary>
/// Compares file trees on disk entry by entry (kind, bytes, permission bits, owner, nanosecond mtimes, symlink
/// targets) and fails with the first differences, each with its path. Paths are relative with '/', and the
/// root itself is the entry ".".
/// </summary>
public static class TreeAssert
{
    private const int MaxReported = 20;

    /// <summary>Fails unless the tree at <paramref name="actual"/> equals the one at <paramref name="expected"/>.</summary>
    public static void Identical(string expected, string actual) =>
        Compare(Capture(expected), actual, compareFolderTimes: true, $"{actual} differs from {expected}");

    /// <summary>
    /// Fails unless the tree at <paramref name="root"/> still equals what <see cref="Capture"/> saw before.
    /// <paramref name="ignoreFolderTimes"/> allows folder mtimes to move (a lock file made and removed again
    /// touches its folder); any changed, added or removed entry is still a change.
    /// </summary>
    public static void Unchanged(IReadOnlyDictionary<string, TreeEntry> before, string root, bool ignoreFolderTimes = false) =>
        Compare(before, root, compareFolderTimes: !ignoreFolderTimes, $"{root} was changed");

    /// <summary>Every entry below <paramref name="root"/> (and the root as "."), by relative path; symlinks are not followed.</summary>
    public static IReadOnlyDictionary<string, TreeEntry> Capture(string root)
    {
        var entries = new SortedDictionary<string, TreeEntry>(StringComparer.Ordinal);
        var rootEntry = Describe(root);
        if (rootEntry.Kind != "dir")
        {
            throw new Xunit.Sdk.XunitException($"{root} is not a folder but a {rootEntry.Kind}.");
        }
        entries["."] = rootEntry;
        Walk(root, "", entries);
        return entries;
    }

    private static void Walk(string folder, string prefix, SortedDictionary<string, TreeEntry> entries)
    {
        foreach (var path in Directory.EnumerateFileSystemEntries(folder))
        {
            var name = Path.GetFileName(path);
            var relative = prefix + name;
            var entry = Describe(path);
            entries[relative] = entry;
            if (entry.Kind == "dir")
            {
                Walk(path, relative + "/", entries);
            }
        }
    }

    private static TreeEntry Describe(string path)
    {
        var status = Posix.LinkStatus(path);
        var kind = (status.Mode & 0xF000) switch
        {
            0x4000 => "dir",
            0x8000 => "file",
            0xA000 => "symlink",
            0x1000 => "fifo",
            0xC000 => "socket",
            _ => "other",
        };
        string? hash = null;
        if (kind == "file")
        {
            using var stream = File.OpenRead(path);
            hash = Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        return new TreeEntry(
            kind,
            // A symlink's own permission bits mean nothing on Linux (always 0777).
            kind == "symlink" ? 0u : status.Mode & 0xFFF,
            status.Uid,
            status.Gid,
            kind == "file" ? status.Size : 0,
            status.ModifyTimeNs,
            hash,
            kind == "symlink" ? new FileInfo(path).LinkTarget : null);
    }

    private static void Compare(IReadOnlyDictionary<string, TreeEntry> expected, string actualRoot, bool compareFolderTimes, string title)
    {
        var actual = Capture(actualRoot);
        var differences = new List<string>();
        foreach (var path in expected.Keys.Union(actual.Keys).Order(StringComparer.Ordinal))
        {
            var hasExpected = expected.TryGetValue(path, out var e);
            var hasActual = actual.TryGetValue(path, out var a);
            if (!hasActual)
            {
                differences.Add($"{path}: missing (expected a {e!.Kind})");
            }
            else if (!hasExpected)
            {
                differences.Add($"{path}: not expected, but there is a {a!.Kind}");
            }
            else
            {
                Diff(path, e!, a!, compareFolderTimes, differences);
            }
        }
        if (differences.Count > 0)
        {
            var message = new StringBuilder();
            message.Append(CultureInfo.InvariantCulture, $"{title}: {differences.Count} differences");
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

    private static void Diff(string path, TreeEntry e, TreeEntry a, bool compareFolderTimes, List<string> differences)
    {
        if (e.Kind != a.Kind)
        {
            differences.Add($"{path}: a {a.Kind} where a {e.Kind} was expected");
            return;
        }
        if (e.Permissions != a.Permissions)
        {
            differences.Add(string.Create(CultureInfo.InvariantCulture,
                $"{path}: mode {Convert.ToString(a.Permissions, 8).PadLeft(4, '0')}, expected {Convert.ToString(e.Permissions, 8).PadLeft(4, '0')}"));
        }
        if (e.Uid != a.Uid || e.Gid != a.Gid)
        {
            differences.Add(string.Create(CultureInfo.InvariantCulture, $"{path}: owner {a.Uid}:{a.Gid}, expected {e.Uid}:{e.Gid}"));
        }
        if (e.Size != a.Size)
        {
            differences.Add(string.Create(CultureInfo.InvariantCulture, $"{path}: {a.Size} bytes, expected {e.Size}"));
        }
        else if (e.ContentHash != a.ContentHash)
        {
            differences.Add($"{path}: the bytes differ (sha256 {a.ContentHash}, expected {e.ContentHash})");
        }
        if (e.LinkTarget != a.LinkTarget)
        {
            differences.Add($"{path}: links to '{a.LinkTarget}', expected '{e.LinkTarget}'");
        }
        if (e.ModifyTimeNs != a.ModifyTimeNs && (compareFolderTimes || e.Kind != "dir"))
        {
            differences.Add(string.Create(CultureInfo.InvariantCulture,
                $"{path}: mtime {FormatNs(a.ModifyTimeNs)}, expected {FormatNs(e.ModifyTimeNs)}"));
        }
    }

    private static string FormatNs(long ns)
    {
        var seconds = Math.DivRem(ns, 1_000_000_000L, out var fraction);
        if (fraction < 0)
        {
            seconds--;
            fraction += 1_000_000_000L;
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"{DateTimeOffset.FromUnixTimeSeconds(seconds):yyyy-MM-ddTHH:mm:ss}.{fraction:D9}Z ({ns} ns)");
    }
}
