using Arca.Native;

namespace Arca.Core.Tests.Native;

public sealed class DirectFileWriterTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    // Sizes around the 4 KiB alignment and the 512 KiB buffer, where an off-by-one would lose or repeat bytes.
    public static TheoryData<int[]> AppendPatterns() => new()
    {
        new[] { 1 },
        new[] { 4095 },
        new[] { 4096 },
        new[] { 4097, 3 },
        new[] { 512 * 1024 - 1, 1 },
        new[] { 512 * 1024, 512 * 1024 },
        new[] { 512 * 1024 + 1, 0, 7 },
        new[] { 3 * 1024 * 1024 + 17 },
        new[] { 100, 200_000, 900_000, 1, 4096, 1_500_000 },
    };

    [Theory]
    [MemberData(nameof(AppendPatterns))]
    public async Task The_file_holds_exactly_the_appended_bytes_written_past_the_page_cache(int[] sizes)
    {
        var path = _temp.Combine("pack");
        var expected = new List<byte>();
        await using (var writer = DirectFileWriter.Create(path))
        {
            // Every file system this project runs on supports O_DIRECT (ext4, xfs, and tmpfs since Linux 6.6).
            writer.IsDirect.ShouldBeTrue();
            for (var i = 0; i < sizes.Length; i++)
            {
                var chunk = Bytes(sizes[i], i);
                await writer.AppendAsync(chunk, CancellationToken.None);
                expected.AddRange(chunk);
                writer.Length.ShouldBe(expected.Count);
            }
            await writer.CompleteAsync(flushToDevice: true, CancellationToken.None);
        }

        (await File.ReadAllBytesAsync(path)).ShouldBe(expected.ToArray());
    }

    [Fact]
    public async Task Without_O_DIRECT_the_same_appends_give_the_same_file()
    {
        var path = _temp.Combine("pack");
        var first = Bytes(700_000, 1);
        var second = Bytes(5000, 2);
        await using (var writer = DirectFileWriter.Create(path, preferDirect: false))
        {
            writer.IsDirect.ShouldBeFalse();
            await writer.AppendAsync(first, CancellationToken.None);
            await writer.AppendAsync(second, CancellationToken.None);
            writer.Length.ShouldBe(705_000);
            await writer.CompleteAsync(flushToDevice: true, CancellationToken.None);
        }

        (await File.ReadAllBytesAsync(path)).ShouldBe([.. first, .. second]);
    }

    [Fact]
    public async Task A_file_with_nothing_appended_is_empty()
    {
        var path = _temp.Combine("empty");
        await using (var writer = DirectFileWriter.Create(path))
        {
            await writer.CompleteAsync(flushToDevice: true, CancellationToken.None);
        }

        new FileInfo(path).Length.ShouldBe(0);
    }

    [Fact]
    public async Task An_existing_file_is_refused_and_left_as_it_was()
    {
        var path = _temp.Combine("taken");
        await File.WriteAllTextAsync(path, "keep me");

        Should.Throw<IOException>(() => DirectFileWriter.Create(path));

        (await File.ReadAllTextAsync(path)).ShouldBe("keep me");
    }

    [Fact]
    public async Task Appending_after_completion_is_refused()
    {
        var path = _temp.Combine("done");
        await using var writer = DirectFileWriter.Create(path);
        await writer.AppendAsync(Bytes(10, 3), CancellationToken.None);
        await writer.CompleteAsync(flushToDevice: true, CancellationToken.None);

        await Should.ThrowAsync<ObjectDisposedException>(async () => await writer.AppendAsync(Bytes(1, 4), CancellationToken.None));
        new FileInfo(path).Length.ShouldBe(10);
    }

    [Fact]
    public async Task A_writer_disposed_before_completion_closes_the_file_with_what_reached_the_disk()
    {
        var path = _temp.Combine("abandoned");
        await using (var writer = DirectFileWriter.Create(path))
        {
            await writer.AppendAsync(Bytes(1_200_000, 5), CancellationToken.None);
        }

        // Whole buffers that were sent are there; the unsent tail is not. The caller deletes such a file.
        new FileInfo(path).Length.ShouldBe(1024 * 1024);
        File.Delete(path);
    }
}
