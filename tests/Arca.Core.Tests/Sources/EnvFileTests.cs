using Arca.Sources.Env;

namespace Arca.Core.Tests.Sources;

public sealed class EnvFileTests
{
    [Theory]
    [InlineData("APP_*", "APP_KEY", true)]
    [InlineData("APP_*", "APP_", true)]
    [InlineData("APP_*", "app_key", false)]
    [InlineData("APP_*", "MY_APP_KEY", false)]
    [InlineData("*_URL", "DATABASE_URL", true)]
    [InlineData("DB_?", "DB_1", true)]
    [InlineData("DB_?", "DB_12", false)]
    [InlineData("A*B*C", "AxxBxxBxxC", true)]
    [InlineData("A*B*C", "AxxBxxC_", false)]
    [InlineData("*", "ANYTHING", true)]
    [InlineData("HOME", "HOME", true)]
    [InlineData("HOME", "HOMES", false)]
    public void Patterns_match_names_as_documented(string pattern, string name, bool expected) =>
        new EnvPattern("env:" + pattern).IsMatch(name).ShouldBe(expected);

    [Theory]
    [InlineData("env:")]
    [InlineData("env:A=B")]
    public void A_pattern_that_names_no_variable_is_a_usage_error(string source) =>
        Should.Throw<ArcaException>(() => new EnvPattern(source)).Code.ShouldBe(ErrorCode.Usage);

    [Fact]
    public void Special_characters_are_escaped_the_shell_way()
    {
        EnvFile.Line("A", "x\"y$z\\w`q\nnext").ShouldBe("A=\"x\\\"y\\$z\\\\w\\`q\nnext\"");
        EnvFile.Line("EMPTY", "").ShouldBe("EMPTY=\"\"");
    }

    [Fact]
    public void Any_value_reads_back_equal()
    {
        var random = new Random(42);
        string[] alphabet = ["a", "b", " ", "\"", "'", "$", "`", "\\", "\n", "\r", "\t", "=", "{", "}", "(", ")", "#", ";", "&", "|", "*", "?", "!", "é", "日", "😀"];
        var variables = Enumerable.Range(0, 200).Select(i =>
        {
            var length = random.Next(0, 40);
            var chars = Enumerable.Range(0, length).Select(_ => alphabet[random.Next(alphabet.Length)]);
            return new KeyValuePair<string, string>($"V{i:D3}", string.Concat(chars));
        }).ToList();

        var text = System.Text.Encoding.UTF8.GetString(EnvFile.Write(variables));

        EnvFile.Parse(text).ShouldBe(variables);
    }

    [Theory]
    [InlineData("A=unquoted\n")]
    [InlineData("A=\"unclosed\n")]
    [InlineData("A=\"x\" trailing\n")]
    [InlineData("1A=\"x\"\n")]
    public void Anything_but_the_written_syntax_is_refused(string text) =>
        Should.Throw<FormatException>(() => EnvFile.Parse(text));

    [Fact]
    public void Names_a_shell_cannot_take_are_not_valid()
    {
        EnvFile.IsValidName("APP_KEY_2").ShouldBeTrue();
        EnvFile.IsValidName("_X").ShouldBeTrue();
        EnvFile.IsValidName("2X").ShouldBeFalse();
        EnvFile.IsValidName("APP-KEY").ShouldBeFalse();
        EnvFile.IsValidName("BASH_FUNC_f%%").ShouldBeFalse();
        EnvFile.IsValidName("").ShouldBeFalse();
    }
}
