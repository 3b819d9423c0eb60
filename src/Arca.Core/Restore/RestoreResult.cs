using Arca.Trees;

namespace Arca.Restore;

/// <summary>What a restore did. <see cref="Damaged"/> counts files whose data failed its check and were not written.</summary>
public sealed record RestoreResult(long FilesWritten, long DirsCreated, long SymlinksCreated, long Skipped, long BytesWritten,
    IReadOnlyList<ItemError> Errors, int Damaged);
