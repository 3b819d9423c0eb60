namespace Arca.Repo;

/// <summary>The id of a pack: its own type, so it can never be passed where another kind of id is meant.</summary>
public readonly record struct PackId(Hash256 Hash)
{
    public static PackId Parse(string hex) => new(Hash256.Parse(hex));
    public override string ToString() => Hash.ToString();
    public string Short => ToString()[..8];
}
