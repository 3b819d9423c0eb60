using System.Runtime.InteropServices;
using Arca.Native.Interop;

namespace Arca.Native;

/// <summary>
/// The few POSIX calls .NET does not expose with full fidelity. Failures throw FileNotFoundException (ENOENT),
/// DirectoryNotFoundException (ENOTDIR), UnauthorizedAccessException (EACCES, EPERM) or IOException whose
/// HResult is the errno.
/// </summary>
public static class Posix
{
    private const long NanosecondsPerSecond = 1_000_000_000;

    /// <summary>The effective user id, read once: Arca never changes it, and a restore asks for every file.</summary>
    public static uint EffectiveUserId { get; } = LibC.GetEuid();

    /// <summary>The effective group id: the owner group of entries Arca makes itself (a command's output, a .env file).</summary>
    public static uint EffectiveGroupId { get; } = LibC.GetEgid();

    /// <summary>
    /// Caps glibc's malloc arenas. By default every thread that allocates natively (zstd contexts, OpenSSL)
    /// may get an arena of its own, each holding a few MiB it never gives back; a backup
    /// runs on a dozen pool threads. Measured: a few MiB less at the peak of a 1 GiB backup with two arenas.
    /// </summary>
    public static void LimitMallocArenas(int arenas) => LibC.Mallopt(LibC.MallocArenaMax, arenas);

    /// <summary>statx of <paramref name="path"/> itself: a final symlink is not followed.</summary>
    public static FileStatus LinkStatus(string path)
    {
        ValidatePath(path);
        var error = Statx(path, out var buffer);
        return error == 0 ? ToStatus(buffer, path) : throw Errors.FromErrno(error, "statx", path);
    }

    /// <summary>
    /// <see cref="LinkStatus"/> for a path that may well not exist (a restore's destinations): false when it does not
    /// (ENOENT, ENOTDIR), without the cost of an exception; other failures throw as <see cref="LinkStatus"/> does.
    /// </summary>
    public static bool TryLinkStatus(string path, out FileStatus status)
    {
        ValidatePath(path);
        var error = Statx(path, out var buffer);
        if (error is LibC.ENOENT or LibC.ENOTDIR)
        {
            status = default;
            return false;
        }
        status = error == 0 ? ToStatus(buffer, path) : throw Errors.FromErrno(error, "statx", path);
        return true;
    }

    /// <summary>statx without following a final symlink; returns 0 or the errno.</summary>
    private static int Statx(string path, out StatxBuffer buffer)
    {
        int result;
        do
        {
            result = LibC.Statx(LibC.AtFdCwd, path, LibC.AtSymlinkNoFollow, LibC.StatxBasicStats, out buffer);
        }
        while (result != 0 && Marshal.GetLastPInvokeError() == LibC.EINTR);
        return result == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    private static FileStatus ToStatus(in StatxBuffer buffer, string path)
    {
        try
        {
            return new FileStatus(
                Mode: buffer.Mode,
                Uid: buffer.Uid,
                Gid: buffer.Gid,
                Size: checked((long)buffer.Size),
                Inode: buffer.Inode,
                Device: MakeDev(buffer.DevMajor, buffer.DevMinor),
                LinkCount: buffer.LinkCount,
                AccessTimeNs: ToNanoseconds(buffer.AccessTime),
                ModifyTimeNs: ToNanoseconds(buffer.ModifyTime),
                ChangeTimeNs: ToNanoseconds(buffer.ChangeTime));
        }
        catch (OverflowException ex)
        {
            // Only timestamps beyond the years 1677..2262 get here.
            throw new IOException($"statx '{path}': a value does not fit in 64-bit nanoseconds", ex);
        }
    }

    /// <summary>utimensat with nanosecond precision; <paramref name="noFollow"/> sets a symlink's own times.</summary>
    public static unsafe void SetTimes(string path, long accessTimeNs, long modifyTimeNs, bool noFollow)
    {
        ValidatePath(path);
        var times = stackalloc Timespec[2];
        times[0] = ToTimespec(accessTimeNs);
        times[1] = ToTimespec(modifyTimeNs);
        var flags = noFollow ? LibC.AtSymlinkNoFollow : 0;
        int result;
        do
        {
            result = LibC.Utimensat(LibC.AtFdCwd, path, times, flags);
        }
        while (result != 0 && Marshal.GetLastPInvokeError() == LibC.EINTR);

        if (result != 0)
        {
            throw Errors.FromErrno(Marshal.GetLastPInvokeError(), "utimensat", path);
        }
    }

    /// <summary>
    /// Sets an open file's owner (when <paramref name="setOwner"/>), permission bits and times through its
    /// descriptor, in that order (a change of owner clears setuid and setgid): no path is looked up again.
    /// </summary>
    public static unsafe void SetMetadata(Microsoft.Win32.SafeHandles.SafeFileHandle handle, bool setOwner, uint uid, uint gid,
        uint mode, long accessTimeNs, long modifyTimeNs)
    {
        if (setOwner)
        {
            Retry(() => LibC.Fchown(handle, uid, gid), "fchown");
        }
        Retry(() => LibC.Fchmod(handle, mode & 0xFFF), "fchmod");
        var times = stackalloc Timespec[2];
        times[0] = ToTimespec(accessTimeNs);
        times[1] = ToTimespec(modifyTimeNs);
        int result;
        do
        {
            result = LibC.Futimens(handle, times);
        }
        while (result != 0 && Marshal.GetLastPInvokeError() == LibC.EINTR);
        if (result != 0)
        {
            throw Errors.FromErrno(Marshal.GetLastPInvokeError(), "futimens", "(open file)");
        }

        static void Retry(Func<int> call, string name)
        {
            int r;
            do
            {
                r = call();
            }
            while (r != 0 && Marshal.GetLastPInvokeError() == LibC.EINTR);
            if (r != 0)
            {
                throw Errors.FromErrno(Marshal.GetLastPInvokeError(), name, "(open file)");
            }
        }
    }

    /// <summary>lchown when <paramref name="noFollow"/>, otherwise chown.</summary>
    public static void SetOwner(string path, uint uid, uint gid, bool noFollow)
    {
        ValidatePath(path);
        int result;
        do
        {
            result = noFollow ? LibC.Lchown(path, uid, gid) : LibC.Chown(path, uid, gid);
        }
        while (result != 0 && Marshal.GetLastPInvokeError() == LibC.EINTR);

        if (result != 0)
        {
            throw Errors.FromErrno(Marshal.GetLastPInvokeError(), noFollow ? "lchown" : "chown", path);
        }
    }

    /// <summary>kill(pid, 0): a process we may not signal (EPERM) still exists.</summary>
    public static bool IsProcessAlive(int pid)
    {
        // 0 and negative pids address process groups, not one process.
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pid);
        if (LibC.Kill(pid, 0) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno switch
        {
            LibC.EPERM => true,
            LibC.ESRCH => false,
            _ => throw new IOException(
                $"kill({pid}, 0): {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno),
        };
    }

    private static void ValidatePath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // The UTF-8 marshaller would silently cut the path at a NUL and act on another file.
        if (path.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("The path contains a NUL character.", nameof(path));
        }
    }

    private static long ToNanoseconds(StatxTimestamp timestamp) =>
        checked((timestamp.Seconds * NanosecondsPerSecond) + timestamp.Nanoseconds);

    private static Timespec ToTimespec(long nanoseconds)
    {
        // Floor division: tv_nsec must be in [0, 1e9) also before the epoch.
        var seconds = Math.DivRem(nanoseconds, NanosecondsPerSecond, out var remainder);
        if (remainder < 0)
        {
            seconds--;
            remainder += NanosecondsPerSecond;
        }

        return new Timespec { Seconds = checked((nint)seconds), Nanoseconds = (nint)remainder };
    }

    // glibc's gnu_dev_makedev, so Device equals st_dev from stat(2).
    private static ulong MakeDev(uint major, uint minor) =>
        (minor & 0xffUL)
        | ((major & 0xfffUL) << 8)
        | ((minor & ~0xffUL) << 12)
        | ((major & ~0xfffUL) << 32);
}
