using System.Text.Json.Serialization;

namespace Arca.Repo.Format;

/// <summary>
/// A lock's content: who holds it (host, pid, user), since when, whether it is exclusive. A lock is
/// stale when its process is gone on this host, or when it has not been refreshed for longer than
/// <c>LockManager.StaleAfter</c>.
/// </summary>
public sealed record LockFile(
    [property: JsonPropertyName("time")] DateTimeOffset Time,
    [property: JsonPropertyName("exclusive")] bool Exclusive,
    [property: JsonPropertyName("hostname")] string Hostname,
    [property: JsonPropertyName("username")] string Username,
    [property: JsonPropertyName("pid")] int Pid,
    [property: JsonPropertyName("operation")] string Operation);
