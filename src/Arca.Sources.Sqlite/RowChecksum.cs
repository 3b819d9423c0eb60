using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Arca.Sources.Sqlite;

/// <summary>
/// Counts a table's rows and hashes them with SHA-256, in the table's own order (rowid, or the primary key of a
/// WITHOUT ROWID table; no index is used, whatever the planner would prefer). Each value is hashed as a type byte
/// (1 integer, 2 real, 3 text, 4 blob, 5 null) followed by its bytes: an integer or real as 8 little-endian bytes,
/// a text (UTF-8) or blob as a 4-byte little-endian length and the bytes. So equal rows in equal order give equal
/// checksums, and 1 and '1' or 1 and 1.0 do not. Reads values through SQLite's C API directly (<see cref="SqliteNative"/>):
/// a row costs about as much as SQLite takes to step to it.
/// </summary>
internal static unsafe class RowChecksum
{
    public static (long Rows, string Sha256) Compute(SqliteConnection connection, string schema, string table, IReadOnlyList<string> columns,
        CancellationToken cancellationToken)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var sql = $"SELECT {string.Join(", ", columns.Select(SqliteFile.Ident))} FROM {SqliteFile.Ident(schema)}.{SqliteFile.Ident(table)} NOT INDEXED";
        var db = connection.Handle!;
        var rc = raw.sqlite3_prepare_v2(db, sql, out var statement);
        SqliteException.ThrowExceptionForRC(rc, db);
        using (statement)
        {
            // Referenced by `statement` until the end of this block, so the pointer stays valid while it is used.
            var handle = statement.DangerousGetHandle();
            var buffer = new byte[1 << 16];
            var used = 0;
            long rows = 0;
            var count = columns.Count;
            while ((rc = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
            {
                if ((++rows & 0xFFFF) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }
                for (var i = 0; i < count; i++)
                {
                    var type = SqliteNative.sqlite3_column_type(handle, i);
                    if (buffer.Length - used < 9)
                    {
                        sha.AppendData(buffer, 0, used);
                        used = 0;
                    }
                    buffer[used++] = (byte)type;
                    switch (type)
                    {
                        case raw.SQLITE_INTEGER:
                            BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(used), SqliteNative.sqlite3_column_int64(handle, i));
                            used += 8;
                            break;
                        case raw.SQLITE_FLOAT:
                            BinaryPrimitives.WriteDoubleLittleEndian(buffer.AsSpan(used), SqliteNative.sqlite3_column_double(handle, i));
                            used += 8;
                            break;
                        case raw.SQLITE_TEXT:
                        case raw.SQLITE_BLOB:
                            // The pointer first: asking for the length first could convert the value (sqlite3.h, "the safest policy").
                            var pointer = SqliteNative.sqlite3_column_blob(handle, i);
                            var bytes = new ReadOnlySpan<byte>(pointer, SqliteNative.sqlite3_column_bytes(handle, i));
                            BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(used), bytes.Length);
                            used += 4;
                            if (bytes.Length > buffer.Length - used)
                            {
                                sha.AppendData(buffer, 0, used);
                                used = 0;
                                if (bytes.Length > buffer.Length)
                                {
                                    sha.AppendData(bytes);
                                    break;
                                }
                            }
                            bytes.CopyTo(buffer.AsSpan(used));
                            used += bytes.Length;
                            break;
                    }
                }
            }
            if (rc != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc, db);
            }
            sha.AppendData(buffer, 0, used);
            return (rows, Convert.ToHexStringLower(sha.GetHashAndReset()));
        }
    }
}
