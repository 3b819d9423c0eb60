namespace Arca.TestKit;

/// <summary>
/// A uniquely named folder under <c>$TMPDIR/arca-tests</c>, one per test, so tests never share a path and
/// can run in parallel (unlike Duplicati's fixed test folder). Disposing deletes it, after making read-only
/// entries writable (repositories keep their files 0444, tests make folders 0555).
/// </summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory(string? label = null)
    {
        var name = (label is null ? "" : label + "-") + Guid.NewGuid().ToString("N")[..12];
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "arca-tests", name);
        Directory.CreateDirectory(Path);
    }

    /// <summary>The folder's absolute path.</summary>
    public string Path { get; }

    /// <summary>A path inside the folder; nothing is created.</summary>
    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>Creates (if needed) and returns a folder inside this one.</summary>
    public string CreateDirectory(params string[] parts)
    {
        var path = Combine(parts);
        Directory.CreateDirectory(path);
        return path;
    }

    public override string ToString() => Path;

    public void Dispose()
    {
        try
        {
            MakeWritable(Path);
            Directory.Delete(Path, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: throwing here would hide the failure of the test that used the folder.
        }
    }

    /// <summary>Gives the owner write (and, on folders, search) permission below <paramref name="folder"/>; symlinks are never followed.</summary>
    private static void MakeWritable(string folder)
    {
        const UnixFileMode owner = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        File.SetUnixFileMode(folder, File.GetUnixFileMode(folder) | owner);
        foreach (var entry in new DirectoryInfo(folder).EnumerateFileSystemInfos())
        {
            if (entry.LinkTarget is not null)
            {
                continue;
            }
            if (entry is DirectoryInfo)
            {
                MakeWritable(entry.FullName);
            }
            else if ((entry.UnixFileMode & UnixFileMode.UserWrite) == 0)
            {
                File.SetUnixFileMode(entry.FullName, entry.UnixFileMode | UnixFileMode.UserWrite);
            }
        }
    }
}
