namespace Arca.Storage;

/// <summary>What a storage backend is, for messages and for tuning callers.</summary>
/// <param name="Location">Where it is, as the user wrote it (a folder, an s3: URL).</param>
/// <param name="Connections">How many requests are worth running at once.</param>
/// <param name="IsRemote">
/// Each request costs a round trip to a server: readers should fetch large pieces (many blobs at a time)
/// rather than one small range per blob.
/// </param>
public sealed record StorageProperties(string Location, int Connections, bool IsRemote = false);
