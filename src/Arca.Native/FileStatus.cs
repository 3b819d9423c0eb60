namespace Arca.Native;

/// <summary>
/// The fields of statx that a backup records. <see cref="Mode"/> is st_mode including the file-type bits;
/// <see cref="Device"/> is encoded like glibc's makedev; times are nanoseconds since the Unix epoch.
/// </summary>
public readonly record struct FileStatus(
    uint Mode,
    uint Uid,
    uint Gid,
    long Size,
    ulong Inode,
    ulong Device,
    uint LinkCount,
    long AccessTimeNs,
    long ModifyTimeNs,
    long ChangeTimeNs);
