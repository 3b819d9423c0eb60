using Arca.Repo;

namespace Arca.Operations;

/// <summary>Checks a repository; a fraction above zero also reads that share of the packs' data.</summary>
public sealed class CheckOperation
{
    public Task<CheckResult> RunAsync(RepositorySession session, double readDataFraction, CancellationToken cancellationToken) =>
        new Checker(session.Repository).CheckAsync(readDataFraction, cancellationToken);

    /// <summary>Parses a --read-data-subset value such as "10%" or "0.1".</summary>
    public static double ParseSubset(string value)
    {
        var text = value.Trim();
        var percent = text.EndsWith('%');
        if (double.TryParse(percent ? text[..^1] : text, System.Globalization.NumberStyles.Float,
                System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            var fraction = percent ? number / 100 : number;
            if (fraction > 0 && fraction <= 1)
            {
                return fraction;
            }
        }
        throw new ArcaException(ErrorCode.Usage, $"'{value}' is not a share of the data between 0% and 100%.",
            "Write it as a percentage such as 10%.");
    }
}
