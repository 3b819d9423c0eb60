namespace Arca.Repo.Format;

/// <summary>
/// The repository format this build reads and writes. A reader refuses any other version with a
/// clear message rather than guessing (docs/format.md).
/// </summary>
public static class FormatVersion
{
    public const int Current = 2;
    public const string ConfigMagic = "arca-repository";
    public const string KeyMagic = "arca-key";
}
