namespace Arca.Repo;

/// <summary>What a blob holds: file content, or a serialized tree (a folder's listing).</summary>
public enum BlobType : byte
{
    Data = 0,
    Tree = 1,
}
