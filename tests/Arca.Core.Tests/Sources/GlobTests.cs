using Arca.Sources.Files;

namespace Arca.Core.Tests.Sources;

public sealed class GlobTests
{
    [Theory]
    [InlineData("*.log", "/data/app/x.log", "x.log", true)]
    [InlineData("*.log", "/data/app/x.log.1", "x.log.1", false)]
    [InlineData("cache", "/data/cache", "cache", true)]
    [InlineData("/data/*/tmp", "/data/app/tmp", "tmp", true)]
    [InlineData("/data/*/tmp", "/data/app/sub/tmp", "tmp", false)]
    [InlineData("/data/**/tmp", "/data/app/sub/tmp", "tmp", true)]
    [InlineData("node_modules/**", "/src/web/node_modules/left-pad/index.js", "index.js", true)]
    [InlineData("app/tmp", "/data/app/tmp", "tmp", true)]
    [InlineData("app/tmp", "/data/myapp/tmp", "tmp", false)]
    [InlineData("file?.txt", "/a/file1.txt", "file1.txt", true)]
    [InlineData("[ab].txt", "/a/b.txt", "b.txt", true)]
    [InlineData("[!ab].txt", "/a/b.txt", "b.txt", false)]
    public void Patterns_match_as_documented(string pattern, string path, string name, bool expected) =>
        new Glob(pattern).IsMatch(path, name).ShouldBe(expected);

    [Fact]
    public void An_unclosed_set_is_a_usage_error_with_a_hint()
    {
        var ex = Should.Throw<ArcaException>(() => new Glob("[abc"));
        ex.Code.ShouldBe(ErrorCode.Usage);
        ex.Hint.ShouldNotBeNull();
    }
}
