using Arca.Backup;
using Arca.Restore;

namespace Arca.Cli.Output;

/// <summary>
/// Progress on standard error: a bar redrawn in place (at most ten times a second) on a terminal, a plain
/// line every ten seconds in a log. Errors are printed as they happen, in both. Throttling lives here,
/// not in the engines.
/// </summary>
public sealed class ProgressPrinter : IBackupProgress, IRestoreProgress, IDisposable
{
    private readonly CliConsole _console;
    private readonly string _verb;
    private readonly bool _show;
    private readonly long _startTicks;
    private readonly Lock _lock = new();
    private long _files, _bytes, _lastDraw;
    private bool _drawn;

    public ProgressPrinter(CliConsole console, string verb, bool show)
    {
        _console = console;
        _verb = verb;
        _show = show;
        _startTicks = console.Time.GetTimestamp();
        _lastDraw = _startTicks;
    }

    /// <summary>Total bytes expected, when known (restore): shows a bar and a percentage.</summary>
    public long TotalBytes { get; set; }

    public void FileDone(string path, long bytes, bool unchanged)
    {
        Interlocked.Increment(ref _files);
        if (unchanged)
        {
            Interlocked.Add(ref _bytes, bytes);
        }
        Tick();
    }

    public void Planned(long files, long bytes) => TotalBytes = bytes;

    public void FileDone(string path, long bytes)
    {
        Interlocked.Increment(ref _files);
        Interlocked.Add(ref _bytes, bytes);
        Tick();
    }

    public void BytesRead(long bytes)
    {
        Interlocked.Add(ref _bytes, bytes);
        Tick();
    }

    public void Error(string path, string message)
    {
        lock (_lock)
        {
            ClearLine();
            _console.Error.WriteLine($"arca: warning: {path}: {message}");
        }
    }

    private void Tick()
    {
        if (!_show)
        {
            return;
        }
        var now = _console.Time.GetTimestamp();
        var interval = _console.ErrorIsTerminal ? TimeSpan.FromMilliseconds(100) : TimeSpan.FromSeconds(10);
        if (_console.Time.GetElapsedTime(Interlocked.Read(ref _lastDraw), now) < interval)
        {
            return;
        }
        lock (_lock)
        {
            if (_console.Time.GetElapsedTime(_lastDraw, now) < interval)
            {
                return;
            }
            _lastDraw = now;
            var line = Line(now);
            if (_console.ErrorIsTerminal)
            {
                _console.Error.Write("\r" + line.PadRight(Math.Min(120, line.Length + 8)));
                _drawn = true;
            }
            else
            {
                _console.Error.WriteLine(line);
            }
        }
    }

    private string Line(long now)
    {
        var elapsed = _console.Time.GetElapsedTime(_startTicks, now);
        var bytes = Interlocked.Read(ref _bytes);
        var rate = elapsed.TotalSeconds > 0 ? bytes / elapsed.TotalSeconds : 0;
        var counts = $"{_files} files, {Format.Bytes(bytes)}";
        if (TotalBytes > 0)
        {
            var share = Math.Clamp((double)bytes / TotalBytes, 0, 1);
            var filled = (int)(share * 30);
            counts = $"[{new string('#', filled)}{new string('.', 30 - filled)}] {share:P0} {counts} of {Format.Bytes(TotalBytes)}";
        }
        return $"{_verb}: {counts}, {Format.Bytes((long)rate)}/s, {Format.Duration(elapsed)}";
    }

    private void ClearLine()
    {
        if (_drawn)
        {
            _console.Error.Write("\r" + new string(' ', 120) + "\r");
            _drawn = false;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            ClearLine();
        }
    }
}
