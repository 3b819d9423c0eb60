namespace Arca.Repo.Format;

/// <summary>
/// One blob inside a pack: where its sealed bytes sit, how long they are, and how long the plaintext
/// is once opened and (if <see cref="Compressed"/>) decompressed.
/// </summary>
public readonly record struct BlobEntry(BlobId Id, BlobType Type, bool Compressed, uint Offset, uint StoredLength, uint RawLength);
