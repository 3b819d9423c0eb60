namespace Arca.Repo;

/// <summary>The id of a blob: its own type, so it can never be passed where another kind of id is meant.</summary>
public readonly record struct BlobId(Hash256 Hash)
{
    public static BlobId Parse(string hex) => new(Hash256.Parse(hex));
    public override string ToString() => Hash.ToString();
    
}
