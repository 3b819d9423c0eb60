namespace Arca.Restore;

/// <summary>What a restore reports as it goes; thread-safe and cheap, like <c>IBackupProgress</c>.</summary>
public interface IRestoreProgress
{
    /// <summary>Called once, before the first file: how much the plan will write.</summary>
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
