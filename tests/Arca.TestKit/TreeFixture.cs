using System.Diagnostics;
using System.Globalization;
using System.Text;
using Arca.Native;

namespace Arca.TestKit;

/// <summary>
/// A declarative file tree (restic's restorer tests, Kopia's mockfs, on a real disk): describe files, folders,
/// symlinks and FIFOs with optional modes and nanosecond mtimes, then <see cref="CreateIn"/> a folder.
/// Every entry, including folders made implicitly for a path, gets a distinct mtime with a non-zero
/// nanosecond part unless one is given, so a restore that loses precision is caught; the root folder gets
/// <see cref="RootTimeNs"/>.
/// </summary>
public sealed class TreeFixture
{
    /// <summary>The first default mtime: 2020-09-13 12:26:40.123456789 UTC.</summary>
    public const long DefaultTimeNs = 1_600_000_000_123_456_789;

    /// <summary>The mtime <see cref="CreateIn"/> gives the root folder, so two materialisations are identical.</summary>
    public const long RootTimeNs = DefaultTimeNs - 1_000_000_007;

    private readonly List<Entry> _entries = [];

    private enum Kind
    {
        File,
        Directory,
        Symlink,
        Fifo,
    }

    private sealed record Entry(string Path, Kind Kind, byte[]? Content, string? Target, UnixFileMode? Mode, long? ModifyTimeNs);

    /// <summary>The relative paths described so far (implicit parent folders not included).</summary>
    public IEnumerable<string> Paths => _entries.Select(e => e.Path);

    public TreeFixture File(string path, string text, UnixFileMode? mode = null, long? mtimeNs = null) =>
        File(path, Encoding.UTF8.GetBytes(text), mode, mtimeNs);

    public TreeFixture File(string path, byte[] content, UnixFileMode? mode = null, long? mtimeNs = null) =>
        Add(new Entry(path, Kind.File, content, null, mode, mtimeNs));

    /// <summary>A file of <paramref name="size"/> pseudo-random bytes: the same seed gives the same bytes.</summary>
    public TreeFixture RandomFile(string path, int size, int seed, UnixFileMode? mode = null, long? mtimeNs = null) =>
        File(path, RandomBytes(size, seed), mode, mtimeNs);

    public TreeFixture Directory(string path, UnixFileMode? mode = null, long? mtimeNs = null) =>
        Add(new Entry(path, Kind.Directory, null, null, mode, mtimeNs));

    public TreeFixture Symlink(string path, string target, long? mtimeNs = null) =>
        Add(new Entry(path, Kind.Symlink, null, target, null, mtimeNs));

    /// <summary>A named pipe (made with mkfifo(1)): something a backup cannot read as a file.</summary>
    public TreeFixture Fifo(string path, long? mtimeNs = null) =>
        Add(new Entry(path, Kind.Fifo, null, null, null, mtimeNs));

    /// <summary>Parses an octal mode such as "0600" or "755".</summary>
    public static UnixFileMode Mode(string octal) => (UnixFileMode)Convert.ToInt32(octal, 8);

    public static byte[] RandomBytes(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Materialises the tree inside <paramref name="root"/> (created if missing) and returns <paramref name="root"/>.</summary>
    public string CreateIn(string root)
    {
        System.IO.Directory.CreateDirectory(root);
        var all = new List<Entry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in _entries)
        {
            var relative = Normalize(entry.Path);
            // Parent folders nobody described are made as plain folders.
            var parts = relative.Split('/');
            for (var i = 1; i < parts.Length; i++)
            {
                var parent = string.Join('/', parts[..i]);
                if (seen.Add(parent))
                {
                    all.Add(new Entry(parent, Kind.Directory, null, null, null, null));
                }
            }
            if (!seen.Add(relative))
            {
                if (entry.Kind == Kind.Directory && all.Find(e => e.Path == relative) is { Kind: Kind.Directory } implicitFolder)
                {
                    all[all.IndexOf(implicitFolder)] = entry with { Path = relative };
                    continue;
                }
                throw new InvalidOperationException($"The fixture describes '{relative}' twice.");
            }
            all.Add(entry with { Path = relative });
        }

        foreach (var entry in all)
        {
            var path = System.IO.Path.Combine(root, entry.Path);
            switch (entry.Kind)
            {
                case Kind.Directory:
                    System.IO.Directory.CreateDirectory(path);
                    break;
                case Kind.File:
                    System.IO.File.WriteAllBytes(path, entry.Content!);
                    break;
                case Kind.Symlink:
                    System.IO.File.CreateSymbolicLink(path, entry.Target!);
                    break;
                case Kind.Fifo:
                    MakeFifo(path);
                    break;
            }
        }

        // Modes and times last, folders deepest first: creating an entry changes its folder's mtime, and a
        // folder without write permission could not take new entries.
        var times = all.Select((e, i) => e.ModifyTimeNs ?? DefaultTimeNs + (i * 1_000_000_007L)).ToList();
        for (var i = 0; i < all.Count; i++)
        {
            if (all[i].Kind == Kind.Directory)
            {
                continue;
            }
            var path = System.IO.Path.Combine(root, all[i].Path);
            if (all[i].Mode is { } mode)
            {
                System.IO.File.SetUnixFileMode(path, mode);
            }
            Posix.SetTimes(path, times[i], times[i], noFollow: true);
        }
        foreach (var i in Enumerable.Range(0, all.Count).Where(i => all[i].Kind == Kind.Directory).OrderByDescending(i => all[i].Path.Count(c => c == '/')))
        {
            var path = System.IO.Path.Combine(root, all[i].Path);
            if (all[i].Mode is { } mode)
            {
                System.IO.File.SetUnixFileMode(path, mode);
            }
            Posix.SetTimes(path, times[i], times[i], noFollow: true);
        }
        Posix.SetTimes(root, RootTimeNs, RootTimeNs, noFollow: true);
        return root;
    }

    private TreeFixture Add(Entry entry)
    {
        _entries.Add(entry);
        return this;
    }

    private static string Normalize(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts.Any(p => p is "." or ".."))
        {
            throw new ArgumentException($"'{path}' is not a relative path inside the tree.", nameof(path));
        }
        return string.Join('/', parts);
    }

    private static void MakeFifo(string path)
    {
        var info = new ProcessStartInfo("mkfifo") { RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-m");
        info.ArgumentList.Add("644");
        info.ArgumentList.Add(path);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("mkfifo could not be started.");
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"mkfifo {path} failed ({process.ExitCode}): {error}"));
        }
    }
}
