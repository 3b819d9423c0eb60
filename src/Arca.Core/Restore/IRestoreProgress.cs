namespace Arca.Restore;

/// <summary>What a restore reports as it goes; thread-safe and cheap, like <c>IBackupProgress</c>.</summary>
public interface IRestoreProgress
{
    /// <summary>
    /// Called once, when the walk of the snapshot has found every file to write: how much the restore will write. Files
    /// are written while the walk goes on, so some may be reported done before this.
    /// </summary>
    void Planned(long files, long bytes);
    void FileDone(string path, long bytes);
    void Error(string path, string message);

    public static IRestoreProgress None { get; } = new NoProgress();

    private sealed class NoProgress : IRestoreProgress
    {
        public void Planned(long files, long bytes) { }
        public void FileDone(string path, long bytes) { }
        public void Error(string path, string message) { }
    }
}
