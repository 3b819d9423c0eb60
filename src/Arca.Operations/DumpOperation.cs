using Arca.Restore;
using Arca.Sources.Postgres;
using Arca.Trees;

namespace Arca.Operations;

/// <summary>
/// Writes one entry of a snapshot to a stream: a file's bytes as they are, or a table's rows as CSV, NDJSON
/// or JSON. A table can be named by its full path (DB/tables/SCHEMA.TABLE) or as DB/SCHEMA.TABLE.
/// </summary>
public sealed class DumpOperation
{
    public async Task<Node> RunAsync(RepositorySession session, SnapshotSelector selector, string path, string? format, Stream output,
        CancellationToken cancellationToken)
    {
        var repository = session.Repository;
        var (id, snapshot) = await selector.ResolveAsync(repository, cancellationToken);
        var root = await repository.LoadTreeAsync(snapshot.Tree, cancellationToken);
        var normalized = Restorer.NormalizeSnapshotPath(path);
        var node = await FindAsync(repository, id, root, normalized, cancellationToken);
        if (node.Type != NodeType.File)
        {
            throw new ArcaException(ErrorCode.Usage, $"'/{normalized}' is a {(node.Type == NodeType.Dir ? "folder" : "symlink")}; dump writes one file or table.",
                "Name a file or a table (arca ls SNAPSHOT lists them), or use 'arca restore' for folders.");
        }
        await using var content = node.Table is not null ? TableRows.Open(repository, node) : new ContentReader(repository, node.Content ?? []);
        if (node.Table is { } tableInfo)
        {
            var exportFormat = (format ?? "csv") switch
            {
                "csv" => ExportFormat.Csv,
                "ndjson" => ExportFormat.NdJson,
                "json" => ExportFormat.Json,
                "raw" => (ExportFormat?)null,
                var other => throw new ArcaException(ErrorCode.Usage, $"'{other}' is not a format for a table.", "Use --format csv, ndjson, json or raw (PostgreSQL's COPY text)."),
            };
            if (exportFormat is { } f)
            {
                var database = normalized.Split('/')[0];
                await TableExport.WriteAsync(content, tableInfo, f, new ExportContext(id.ToString(), snapshot.Time, database), output, cancellationToken);
                return node;
            }
        }
        else if (format is not null and not "raw")
        {
            throw new ArcaException(ErrorCode.Usage, $"'/{normalized}' is a file, not a table: it is written as it is.", "Leave out --format.");
        }
        await content.CopyToAsync(output, cancellationToken);
        return node;
    }

    private static TableName? TryParse(string text)
    {
        try
        {
            return TableName.Parse(text);
        }
        catch (ArcaException)
        {
            return null;
        }
    }

    private static async Task<Node> FindAsync(Repo.Repository repository, Repo.SnapshotId id, Tree root, string path, CancellationToken cancellationToken)
    {
        // DB/SCHEMA.TABLE names a table as people do, without the folder it is kept in (and a table's name may
        // hold a '/' of its own, so only the first one separates the database).
        var slash = path.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0 && root.Find(path[..slash]) is { Database: not null } && path[(slash + 1)..] is var rest &&
            rest != "tables" && !rest.StartsWith("tables/", StringComparison.Ordinal) && !rest.EndsWith(".sql", StringComparison.Ordinal))
        {
            var (_, tables) = await LsOperation.FindAsync(repository, id, root, $"{path[..slash]}/tables", cancellationToken);
            if (TryParse(rest) is { } name && tables?.Find(name.EntryName) is { } table)
            {
                return table;
            }
        }
        return (await LsOperation.FindAsync(repository, id, root, path, cancellationToken)).Node;
    }
}
