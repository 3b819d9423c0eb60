using System.Runtime.InteropServices;
using Arca.Native.Interop;

namespace Arca.Native;

internal static class Errors
{
    internal static Exception FromErrno(int errno, string operation, string path)
    {
        var message = $"{operation} '{path}': {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
        return errno switch
        {
            LibC.ENOENT => new FileNotFoundException(message, path),
            LibC.ENOTDIR => new DirectoryNotFoundException(message),
            LibC.EACCES or LibC.EPERM => new UnauthorizedAccessException(message),
            _ => new IOException(message, errno),
        };
    }
}
