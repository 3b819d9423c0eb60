using System.Text.Json.Serialization;

namespace Arca.Repo.Format;

/// <summary>
/// One password's way into the repository: Argon2id parameters and salt, and the master key sealed with
/// the key they derive from the password. Several key files may exist; each unwraps the same master key.
/// </summary>
public sealed record KeyFile(
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("created")] DateTimeOffset Created,
    [property: JsonPropertyName("hostname")] string Hostname,
    [property: JsonPropertyName("username")] string Username,
    [property: JsonPropertyName("kdf")] string Kdf,
    [property: JsonPropertyName("opslimit")] long OpsLimit,
    [property: JsonPropertyName("memlimit")] long MemLimit,
    [property: JsonPropertyName("salt")] byte[] Salt,
    [property: JsonPropertyName("master_key")] byte[] SealedMasterKey);
