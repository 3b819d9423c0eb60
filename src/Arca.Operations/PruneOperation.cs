using System.Globalization;
using Arca.Repo;

namespace Arca.Operations;

/// <summary>Frees the space that forgotten snapshots held; see <see cref="Pruner"/> for why it is safe to stop at any point.</summary>
public sealed class PruneOperation
{
    public async Task<PruneResult> RunAsync(RepositorySession session, PruneOptions options, IProgress<string>? progress,
        CancellationToken cancellationToken)
    {
        try
        {
            options.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new ArcaException(ErrorCode.Usage, ex.Message, "For example --max-unused 5%.");
        }
        if (!options.DryRun)
        {
            await session.LockAsync(LockKind.Exclusive, "prune", cancellationToken);
        }
        return await new Pruner(session.Repository).PruneAsync(options, progress, cancellationToken);
    }

    /// <summary>Parses a --max-unused value such as "5%" (or "0.05").</summary>
    public static double ParseMaxUnused(string value)
    {
        var text = value.Trim();
        var percent = text.EndsWith('%');
        if (double.TryParse(percent ? text[..^1] : text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            var fraction = percent ? number / 100 : number;
            if (fraction is >= 0 and < 1)
            {
                return fraction;
            }
        }
        throw new ArcaException(ErrorCode.Usage, $"'{value}' is not a share between 0% and 100% (not included).",
            "Write it as a percentage such as --max-unused 5%.");
    }
}
