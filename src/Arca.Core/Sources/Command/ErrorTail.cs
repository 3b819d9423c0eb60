namespace Arca.Sources.Command;

/// <summary>
/// The end of a command's standard error, read while the command runs so it never blocks on a full pipe, and
/// kept to a few KiB whatever the command writes: what a failure message quotes.
/// </summary>
internal sealed class ErrorTail
{
    private const int Keep = 4096;
    private readonly System.Text.StringBuilder _text = new();
    private long _total;

    /// <summary>Characters the command wrote to standard error in all.</summary>
    public long Total => Interlocked.Read(ref _total);

    /// <summary>Reads <paramref name="reader"/> to its end. Never throws: the tail is a courtesy, the exit status decides.</summary>
    public async Task ReadAsync(TextReader reader)
    {
        var buffer = new char[4096];
        try
        {
            int read;
            while ((read = await reader.ReadAsync(buffer, CancellationToken.None)) > 0)
            {
                lock (_text)
                {
                    _text.Append(buffer, 0, read);
                    if (_text.Length > 2 * Keep)
                    {
                        _text.Remove(0, _text.Length - Keep);
                    }
                }
                Interlocked.Add(ref _total, read);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The pipe went away with the process (killed after a failure): what was read is the tail.
        }
    }

    /// <summary>The last non-empty lines, joined with " / ", at most <paramref name="max"/> characters; empty when there were none.</summary>
    public string LastLines(int lines, int max)
    {
        string text;
        lock (_text)
        {
            text = _text.ToString();
        }
        var last = text.Split('\n').Select(l => CommandText.OneLine(l).Trim()).Where(l => l.Length > 0).TakeLast(lines);
        return CommandText.ShortenFront(string.Join(" / ", last), max);
    }
}
