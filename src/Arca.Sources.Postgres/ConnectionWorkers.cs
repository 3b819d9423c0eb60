namespace Arca.Sources.Postgres;

/// <summary>
/// Work items shared out over a few connections, each opened once by its worker: how restores load, index and verify
/// tables, with <c>--jobs</c> connections. Items are taken in the order given (callers put the largest first, so no
/// worker is left with a big one at the end). Once an item fails, no worker takes another.
/// </summary>
internal static class ConnectionWorkers
{
    /// <param name="idle">
    /// Called by a worker that finds no item left, again until it says false: a worker may help with an item another
    /// took (see <see cref="TableLoad.TryJoin"/>).
    /// </param>
    public static async Task RunAsync<TItem, TConnection>(IEnumerable<TItem> items, int jobs, Func<Task<TConnection>> open,
        Func<TConnection, TItem, Task> work, CancellationToken cancellationToken, Func<TConnection, Task<bool>>? idle = null)
        where TConnection : IAsyncDisposable
    {
        var queue = new Queue<TItem>(items);
        // A worker beyond the items only has work if it may help with one.
        var workers = idle is null ? Math.Min(Math.Max(1, jobs), Math.Max(1, queue.Count)) : Math.Max(1, jobs);
        var failed = false;
        bool Stopped() => Volatile.Read(ref failed) || cancellationToken.IsCancellationRequested;
        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            try
            {
                await using var connection = await open();
                while (!Stopped())
                {
                    TItem? item;
                    lock (queue)
                    {
                        if (!queue.TryDequeue(out item))
                        {
                            break;
                        }
                    }
                    await work(connection, item);
                }
                while (idle is not null && !Stopped() && await idle(connection))
                {
                }
            }
            catch
            {
                Volatile.Write(ref failed, true);
                throw;
            }
        }, cancellationToken)));
        // Workers that stopped for a cancel left items undone: that is no success.
        cancellationToken.ThrowIfCancellationRequested();
    }
}
