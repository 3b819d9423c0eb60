namespace Arca.Cli;

/// <summary>
/// The process's console, environment and clock, injected so tests run the real entry point in process
/// with their own writers and variables.
/// </summary>
public sealed class CliConsole
{
    public required TextWriter Out { get; init; }
    public required TextWriter Error { get; init; }
    public required TextReader In { get; init; }
    public required Func<string, string?> GetEnvironmentVariable { get; init; }
    /// <summary>Every environment variable, for env:PATTERN sources; null offers none.</summary>
    public Func<IReadOnlyDictionary<string, string>>? GetEnvironmentVariables { get; init; }
    /// <summary>Whether standard error is a terminal (progress bars) rather than a log (plain lines).</summary>
    public bool ErrorIsTerminal { get; init; }
    /// <summary>Whether standard input is a terminal, so a password can be asked for.</summary>
    public bool InputIsTerminal { get; init; }
    public TimeProvider Time { get; init; } = TimeProvider.System;
    /// <summary>Standard output as bytes, for commands that write data (dump); null writes UTF-8 text to <see cref="Out"/>.</summary>
    public Func<Stream>? BinaryOut { get; init; }
    /// <summary>Standard input as bytes, for backup --stdin; null reads <see cref="In"/>'s text as UTF-8.</summary>
    public Func<Stream>? BinaryIn { get; init; }

    /// <summary>
    /// A stream of standard input's bytes. Without <see cref="BinaryIn"/> (a test's text input) the text is read
    /// whole, which is fine for the small inputs tests give; the program itself streams.
    /// </summary>
    public Stream OpenStandardInput() =>
        BinaryIn is not null ? BinaryIn() : new MemoryStream(new System.Text.UTF8Encoding(false).GetBytes(In.ReadToEnd()), writable: false);

    /// <summary>A stream onto standard output; dispose it when done (the process's own output stays open).</summary>
    public Stream OpenStandardOutput()
    {
        if (BinaryOut is not null)
        {
            return BinaryOut();
        }
        Out.Flush();
        return new TextWriterStream(Out);
    }

    /// <summary>Bytes decoded as UTF-8 onto a text writer: what an in-process test's captured output gets.</summary>
    private sealed class TextWriterStream(TextWriter writer) : Stream
    {
        private readonly System.Text.Decoder _decoder = System.Text.Encoding.UTF8.GetDecoder();

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => writer.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            var chars = new char[_decoder.GetCharCount(buffer, offset, count)];
            _decoder.GetChars(buffer, offset, count, chars, 0);
            writer.Write(chars);
        }
    }

    public static CliConsole FromProcess() => new()
    {
        Out = Console.Out,
        Error = Console.Error,
        In = Console.In,
        GetEnvironmentVariable = Environment.GetEnvironmentVariable,
        GetEnvironmentVariables = () => Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => e.Value as string ?? "", StringComparer.Ordinal),
        BinaryIn = Console.OpenStandardInput,
        ErrorIsTerminal = !Console.IsErrorRedirected,
        InputIsTerminal = !Console.IsInputRedirected,
        BinaryOut = Console.OpenStandardOutput,
    };
}
