namespace Arca.Sources.Postgres;

/// <summary>
/// Work items shared out over a few connections, each opened once by its worker: how backups read tables,
/// and restores load, index and verify them, with <c>--jobs</c> connections. Items are taken in the order given
/// (callers put the largest first, so no worker is left with a big one at the end).
/// </summary>
internal static class ConnectionWorkers
{
    public static async Task RunAsync<TItem, TConnection>(IEnumerable<TItem> items, int jobs, Func<Task<TConnection>> open,
        Func<TConnection, TItem, Task> work, CancellationToken cancellationToken)
        where TConnection : IAsyncDisposable
    {
        var queue = new Queue<TItem>(items);
        var workers = Math.Min(Math.Max(1, jobs), Math.Max(1, queue.Count));
        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            await using var connection = await open();
            while (true)
            {
                TItem? item;
                lock (queue)
                {
                    if (!queue.TryDequeue(out item))
                    {
                        return;
                    }
                }
                await work(connection, item);
            }
        }, cancellationToken)));
    }
}
