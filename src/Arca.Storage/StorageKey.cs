namespace Arca.Storage;

/// <summary>The name of one file in storage: its kind and its name within that kind.</summary>
public readonly record struct StorageKey
{
    public StorageKey(StorageKind kind, string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('/') || name.Contains('\\') || name is "." or "..")
        {
            throw new ArgumentException($"'{name}' is not a valid storage name.", nameof(name));
        }
        Kind = kind;
        Name = name;
    }

    public StorageKind Kind { get; }
    public string Name { get; }

    public override string ToString() => $"{Kind.ToString().ToLowerInvariant()}/{Name}";
}
