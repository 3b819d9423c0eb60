using System.Runtime.InteropServices;

namespace Arca.Sources.Sqlite;

/// <summary>
/// The few calls of SQLite's C API that read a result row's values, declared here rather than reached through
/// SQLitePCLRaw: its calls take the statement as a SafeHandle (a reference count up and down on each) and make a
/// full GC transition, which cost several times what SQLite itself does to hand over a value. A table checksum
/// makes two of these calls per value, so they were most of its time.
/// <para>
/// The library is the one SQLitePCLRaw's bundle loads (e_sqlite3), found by the same name. The calls read values
/// the step already put in the row's registers: no I/O, no lock, no callback, which is what
/// <see cref="SuppressGCTransitionAttribute"/> requires. The statement must stay alive (its SafeHandle referenced)
/// for as long as its pointer is used.
/// </para>
/// </summary>
internal static unsafe partial class SqliteNative
{
    private const string Library = "e_sqlite3";

    [LibraryImport(Library)]
    [SuppressGCTransition]
    internal static partial int sqlite3_column_type(nint statement, int column);

    [LibraryImport(Library)]
    [SuppressGCTransition]
    internal static partial long sqlite3_column_int64(nint statement, int column);

    [LibraryImport(Library)]
    [SuppressGCTransition]
    internal static partial double sqlite3_column_double(nint statement, int column);

    /// <summary>A text value's bytes as stored (UTF-8 in all but UTF-16 databases) or a blob's bytes; null when empty.</summary>
    [LibraryImport(Library)]
    [SuppressGCTransition]
    internal static partial byte* sqlite3_column_blob(nint statement, int column);

    [LibraryImport(Library)]
    [SuppressGCTransition]
    internal static partial int sqlite3_column_bytes(nint statement, int column);
}
