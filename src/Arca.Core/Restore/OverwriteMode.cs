namespace Arca.Restore;

/// <summary>What a restore does with a file that already exists at the target.</summary>
public enum OverwriteMode
{
    /// <summary>Keep the existing file.</summary>
    Skip,
    /// <summary>Replace it (atomically: the new file is written beside it and renamed over it).</summary>
    Always,
    /// <summary>Replace it only if the snapshot's copy has a later mtime.</summary>
    IfNewer,
}
