using System.Security.Cryptography;
using System.Text;

namespace Arca.Repo;

/// <summary>
/// The config and the key file that opened a remote repository last time, kept on this host under the cache folder,
/// one file per repository location. Opening a repository is a chain: the config, the list of keys, a key file, then
/// Argon2id over it (a third of a second of one core). With a hint the derivation starts at once, from the copy, while
/// the first requests go out (and the S3 client warms up: another quarter of a second); its result is used only if the
/// repository still holds the same config and a key file of the copy's name (a key file's name is the SHA-256 of its
/// bytes). Anything else (a password changed, a key removed, a new repository at the same place, a damaged hint)
/// opens the repository as if there were no hint, and writes a new one.
///
/// The key file in a hint is sealed by the password, as it is in the repository, and readable by this user alone. A
/// password changed because it leaked leaves the old key file in the hints of the hosts that used it, until each opens
/// the repository again (and finds that key gone): anyone who can read this user's cache and knows the old password can
/// then unseal the master key, as anyone could with a copy of the repository's old keys/ folder.
/// </summary>
public sealed class KeyHint
{
    private const string Magic = "arca-key-hint-1";
    private readonly string _path;

    private KeyHint(string path) => _path = path;

    /// <summary>The hint for the repository at <paramref name="location"/>, under the cache folder <paramref name="root"/>.</summary>
    public static KeyHint For(string root, string location) =>
        new(Path.Combine(Path.GetFullPath(root), "keys", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(location)))));

    /// <summary>A config and a key file are a few KiB; a hint file larger than this is not one.</summary>
    private const int MaxSize = 1 << 16;

    /// <summary>What was written last, or null when there is nothing whole to read (a hint is only a shortcut).</summary>
    public Remembered? Read()
    {
        try
        {
            using var file = File.OpenHandle(_path);
            var length = RandomAccess.GetLength(file);
            if (length > MaxSize)
            {
                return null;
            }
            var bytes = new byte[length];
            if (RandomAccess.Read(file, bytes, 0) != length)
            {
                return null;
            }
            using var reader = new BinaryReader(new MemoryStream(bytes));
            if (reader.ReadString() != Magic)
            {
                return null;
            }
            var config = ReadField(reader);
            var keyFile = ReadField(reader);
            return config is null || keyFile is null || reader.BaseStream.Position != length
                ? null
                : new Remembered(config, Convert.ToHexStringLower(SHA256.HashData(keyFile)), keyFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or ArgumentException)
        {
            return null;
        }
    }

    private static byte[]? ReadField(BinaryReader reader)
    {
        var length = reader.ReadInt32();
        return length < 0 || length > reader.BaseStream.Length - reader.BaseStream.Position ? null : reader.ReadBytes(length);
    }

    /// <summary>Keeps <paramref name="config"/> and <paramref name="keyFile"/> for the next opening; a failure to write is ignored.</summary>
    public void Write(byte[] config, byte[] keyFile)
    {
        var temp = _path + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_path)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            using (var stream = new FileStream(temp, new FileStreamOptions
                   {
                       Mode = FileMode.CreateNew, Access = FileAccess.Write,
                       UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                   }))
            using (var writer = new BinaryWriter(stream))
            {
                writer.Write(Magic);
                writer.Write(config.Length);
                writer.Write(config);
                writer.Write(keyFile.Length);
                writer.Write(keyFile);
            }
            File.Move(temp, _path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            try
            {
                File.Delete(temp);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    /// <param name="KeyName">The key file's name in the repository: the SHA-256 of <paramref name="KeyFile"/>.</param>
    public sealed record Remembered(byte[] Config, string KeyName, byte[] KeyFile);
}
