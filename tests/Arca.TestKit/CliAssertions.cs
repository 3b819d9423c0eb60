using Arca.Cli;
using Shouldly;

namespace Arca.TestKit;

/// <summary>What every run must look like: success, or one short sentence (and a hint) with the right exit code.</summary>
public static class CliAssertions
{
    public static void ShouldSucceed(this CliResult result) => result.ExitCode.ShouldBe(ExitCodes.Success, result.ToString());

    /// <summary>
    /// The exit code is <paramref name="exitCode"/>, standard output is empty, and standard error is one
    /// "arca: ..." line, optionally followed by one indented hint: no stack trace, no exception names.
    /// </summary>
    public static void ShouldFailWith(this CliResult result, int exitCode)
    {
        result.ExitCode.ShouldBe(exitCode, result.ToString());
        result.Out.ShouldBeEmpty(result.ToString());
        var lines = result.ErrorLines;
        lines.Count.ShouldBeInRange(1, 2, result.ToString());
        lines[0].ShouldStartWith("arca: ", customMessage: result.ToString(), caseSensitivity: Case.Sensitive);
        lines[0].Length.ShouldBeLessThanOrEqualTo(200, result.ToString());
        if (lines.Count == 2)
        {
            lines[1].ShouldStartWith("  ", customMessage: result.ToString(), caseSensitivity: Case.Sensitive);
            lines[1].Length.ShouldBeLessThanOrEqualTo(200, result.ToString());
        }
        result.Error.ShouldNotContain("   at ", customMessage: result.ToString(), caseSensitivity: Case.Sensitive);
        result.Error.ShouldNotContain("Exception", customMessage: result.ToString(), caseSensitivity: Case.Sensitive);
        result.Error.ShouldNotContain("Internal error", customMessage: result.ToString(), caseSensitivity: Case.Sensitive);
    }
}
