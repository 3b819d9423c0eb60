using System.Text.Json.Serialization;
using Arca.Repo;

namespace Arca.Trees;

/// <summary>
/// One entry of a tree: a file (with its content as a list of data blobs), a folder (with the id of its
/// subtree) or a symlink (with its target). A database is a folder marked with <see cref="Database"/>, and each
/// of its tables a file of rows marked with <see cref="Table"/>; a SQLite database is a file (the database file)
/// marked with <see cref="Database"/>, whose record lists its tables. So every tool that walks trees (restore, diff,
/// check, prune) handles them without knowing about databases. Size, mtime, ctime, inode and device let the next backup
/// recognise an unchanged file without reading it.
/// </summary>
public sealed record Node
{
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("type")] public required NodeType Type { get; init; }
    /// <summary>Permission bits (including setuid, setgid, sticky), without the file-type bits.</summary>
    [JsonPropertyName("mode")] public uint Mode { get; init; }
    [JsonPropertyName("uid")] public uint Uid { get; init; }
    [JsonPropertyName("gid")] public uint Gid { get; init; }
    [JsonPropertyName("size")] public long Size { get; init; }
    [JsonPropertyName("mtime")] public long ModifyTimeNs { get; init; }
    [JsonPropertyName("ctime")] public long ChangeTimeNs { get; init; }
    [JsonPropertyName("inode")] public ulong Inode { get; init; }
    [JsonPropertyName("device")] public ulong Device { get; init; }
    [JsonPropertyName("content")] public IReadOnlyList<BlobId>? Content { get; init; }
    [JsonPropertyName("subtree")] public BlobId? Subtree { get; init; }
    [JsonPropertyName("target")] public string? LinkTarget { get; init; }
    /// <summary>On a file holding a database table's rows: what they are (columns, key, count, checksum).</summary>
    [JsonPropertyName("table")] public TableInfo? Table { get; init; }
    /// <summary>On the folder of a backed-up PostgreSQL database, or the file of a SQLite one: its source, server, schema and tables.</summary>
    [JsonPropertyName("database")] public DatabaseInfo? Database { get; init; }
    /// <summary>On a file made of a standard stream (<c>--stdin</c>, <c>--stdin-from-command</c>): the command that wrote it.</summary>
    [JsonPropertyName("stdin")] public StdinInfo? Stdin { get; init; }
    /// <summary>On the <c>.env</c> file of <c>env:</c> sources: the names of its variables (never their values).</summary>
    [JsonPropertyName("env")] public EnvInfo? Env { get; init; }

    /// <summary>
    /// A tree entry's name is one path component: anything else could make a restore write outside its
    /// target, so trees holding such names are refused.
    /// </summary>
    public static bool IsSafeName(string name) =>
        name.Length > 0 && name != "." && name != ".." && !name.Contains('/') && !name.Contains('\0');
}
