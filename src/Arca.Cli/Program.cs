using Arca.Cli;
using Arca.Native;

// Before any pool thread allocates natively: see LimitMallocArenas for why a backup wants few arenas.
Posix.LimitMallocArenas(Environment.ProcessorCount);

// The pipeline mixes CPU work with blocking file reads and fsyncs; with the default minimum of one pool
// thread per core, a blocked thread leaves a core idle until the pool grows (slowly). Start with enough.
ThreadPool.GetMinThreads(out var workers, out var completion);
ThreadPool.SetMinThreads(Math.Max(workers, Environment.ProcessorCount * 4), completion);

using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl-C cancels cleanly (no snapshot is written); a second one ends the process.
    if (!interrupt.IsCancellationRequested)
    {
        e.Cancel = true;
        interrupt.Cancel();
    }
};
return await CliApp.RunAsync(args, CliConsole.FromProcess(), interrupt.Token);
