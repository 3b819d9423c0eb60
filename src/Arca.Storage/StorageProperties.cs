namespace Arca.Storage;

/// <summary>What a storage backend is, for messages and for tuning callers.</summary>
/// <param name="Location">Where it is, as the user wrote it (a folder, an s3: URL).</param>
/// <param name="Connections">How many requests are worth running at once.</param>
public sealed record StorageProperties(string Location, int Connections);
