using Arca.Repo.Chunking;

namespace Arca.Core.Tests.Chunking;

public class StreamChunkerTests
{
    private static readonly ChunkerParameters Small = ChunkingTestData.Small;

    [Fact]
    public async Task An_empty_stream_yields_no_chunks()
    {
        using var streamChunker = new StreamChunker(new MemoryStream(), ChunkingTestData.SmallChunker());

        (await streamChunker.NextAsync(CancellationToken.None)).ShouldBeNull();
        (await streamChunker.NextAsync(CancellationToken.None)).ShouldBeNull();
    }

    [Fact]
    public async Task A_stream_shorter_than_min_size_is_one_chunk()
    {
        var data = ChunkingTestData.RandomBytes(100, 1);
        using var streamChunker = new StreamChunker(new ShortReadStream(data, seed: 1, maxRead: 7), ChunkingTestData.SmallChunker());

        var chunk = await streamChunker.NextAsync(CancellationToken.None);

        chunk.ShouldNotBeNull();
        chunk.Value.ToArray().ShouldBe(data);
        (await streamChunker.NextAsync(CancellationToken.None)).ShouldBeNull();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4096)]
    [InlineData(4097)]
    [InlineData(65536)]
    [InlineData(2 * 65536)]
    [InlineData((2 * 65536) + 1)]
    [InlineData(5 * 1024 * 1024)]
    public async Task Short_reads_give_the_same_chunks_as_feeding_everything_at_once(int length)
    {
        var chunker = ChunkingTestData.SmallChunker();
        var data = ChunkingTestData.Large.AsSpan(0, length).ToArray();
        var expected = ChunkingTestData.ChunkLengths(chunker, data);

        var stream = new ShortReadStream(data, seed: length, maxRead: 3000);
        var chunks = await ChunkingTestData.StreamChunks(chunker, stream);

        chunks.Select(chunk => chunk.Length).ToList().ShouldBe(expected);
        chunks.SelectMany(chunk => chunk).ToArray().ShouldBe(data);
        stream.ReadCalls.ShouldBeGreaterThan(length / 3000);
    }

    [Fact]
    public async Task Short_reads_give_the_same_chunks_with_default_parameters()
    {
        var chunker = new Chunker(ChunkerParameters.Default, ChunkingTestData.Gear(2));
        var data = ChunkingTestData.Large;
        var expected = ChunkingTestData.ChunkLengths(chunker, data);

        var chunks = await ChunkingTestData.StreamChunks(chunker, new ShortReadStream(data, seed: 3, maxRead: 256 * 1024));

        expected.Count.ShouldBeGreaterThan(10);
        chunks.Select(chunk => chunk.Length).ToList().ShouldBe(expected);
        chunks.SelectMany(chunk => chunk).ToArray().ShouldBe(data);
    }

    [Fact]
    public async Task Chunks_longer_than_the_starting_buffer_come_out_whole()
    {
        // Runs of zeros have no cut points, so they make MaxSize chunks: past the reader's first buffer of
        // twice the average size, which must grow without losing or reordering a byte.
        var chunker = ChunkingTestData.SmallChunker();
        var data = new byte[5 * Small.MaxSize];
        ChunkingTestData.Large.AsSpan(0, Small.MaxSize).CopyTo(data.AsSpan(2 * Small.MaxSize));
        var expected = ChunkingTestData.ChunkLengths(chunker, data);

        var chunks = await ChunkingTestData.StreamChunks(chunker, new ShortReadStream(data, seed: 5, maxRead: 5000));

        expected.ShouldContain(length => length > 2 * Small.AverageSize);
        chunks.Select(chunk => chunk.Length).ToList().ShouldBe(expected);
        chunks.SelectMany(chunk => chunk).ToArray().ShouldBe(data);
    }

    [Fact]
    public async Task Stream_chunks_are_within_min_and_max_except_the_last_and_concatenate_to_the_input()
    {
        var data = ChunkingTestData.Large.AsSpan(0, 8 * 1024 * 1024).ToArray();

        var chunks = await ChunkingTestData.StreamChunks(ChunkingTestData.SmallChunker(), new MemoryStream(data));

        chunks.Count.ShouldBeGreaterThan(100);
        chunks.Take(chunks.Count - 1).ShouldAllBe(chunk => chunk.Length >= Small.MinSize && chunk.Length <= Small.MaxSize);
        chunks[^1].Length.ShouldBeInRange(1, Small.MaxSize);
        chunks.SelectMany(chunk => chunk).ToArray().ShouldBe(data);
    }

    [Fact]
    public async Task A_canceled_token_throws()
    {
        using var streamChunker = new StreamChunker(new MemoryStream(new byte[10_000]), ChunkingTestData.SmallChunker());

        await Should.ThrowAsync<OperationCanceledException>(
            async () => await streamChunker.NextAsync(new CancellationToken(canceled: true)));
    }

    [Fact]
    public async Task NextAsync_after_dispose_throws()
    {
        var streamChunker = new StreamChunker(new MemoryStream(new byte[10_000]), ChunkingTestData.SmallChunker());
        streamChunker.Dispose();
        streamChunker.Dispose();

        await Should.ThrowAsync<ObjectDisposedException>(
            async () => await streamChunker.NextAsync(CancellationToken.None));
    }
}
