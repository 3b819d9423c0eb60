using System.Diagnostics;

namespace Arca.Sqlite.Tests;

/// <summary>
/// File work on a database that a connection of this process holds open. POSIX locks belong to the process and
/// the file: closing any descriptor of the file drops them all, so a File.Copy here would silently release the
/// open connection's locks (and another program would take itself for the last user and checkpoint the WAL).
/// The copy is made by another program instead.
/// </summary>
internal static class OtherProcess
{
    public static async Task CopyAsync(string source, string destination)
    {
        var info = new ProcessStartInfo("/bin/cp") { UseShellExecute = false, RedirectStandardError = true };
        info.ArgumentList.Add("--");
        info.ArgumentList.Add(source);
        info.ArgumentList.Add(destination);
        using var process = Process.Start(info)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        process.ExitCode.ShouldBe(0, error);
    }
}
