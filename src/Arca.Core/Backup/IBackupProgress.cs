namespace Arca.Backup;

/// <summary>
/// What a backup reports as it goes. Called from worker threads; implementations must be thread-safe
/// and cheap (printers throttle their own output). <see cref="None"/> ignores everything.
/// </summary>
public interface IBackupProgress
{
    void FileDone(string path, long bytes, bool unchanged);
    void BytesRead(long bytes);
    void Error(string path, string message);

    public static IBackupProgress None { get; } = new NoProgress();

    private sealed class NoProgress : IBackupProgress
    {
        public void FileDone(string path, long bytes, bool unchanged) { }
        public void BytesRead(long bytes) { }
        public void Error(string path, string message) { }
    }
}
