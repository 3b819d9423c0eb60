namespace Arca.TestKit;

/// <summary>
/// What <see cref="TreeAssert"/> compares of one entry: its kind ("file", "dir", "symlink", "fifo", "socket",
/// "other"), permission bits (st_mode &amp; 07777), owner, size (files only), mtime in nanoseconds, a SHA-256 of
/// a file's bytes, and a symlink's target.
/// </summary>
public sealed record TreeEntry(string Kind, uint Permissions, uint Uid, uint Gid, long Size, long ModifyTimeNs, string? ContentHash, string? LinkTarget);
