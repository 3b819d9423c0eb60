using System.Diagnostics;
using System.Globalization;
using Arca.Native;

namespace Arca.Core.Tests.Native;

public sealed class PosixTests : IDisposable
{
    private const uint S_IFMT = 0xF000;
    private const uint S_IFREG = 0x8000;
    private const uint S_IFDIR = 0x4000;
    private const uint S_IFLNK = 0xA000;

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string NewFile(string name, int size)
    {
        var path = _temp.Combine(name);
        File.WriteAllBytes(path, new byte[size]);
        return path;
    }

    [Fact]
    public void LinkStatus_of_a_regular_file_reports_size_type_and_permissions()
    {
        var path = NewFile("data.bin", 1234);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);

        var status = Posix.LinkStatus(path);

        status.Size.ShouldBe(1234);
        (status.Mode & S_IFMT).ShouldBe(S_IFREG);
        (status.Mode & 0xFFF).ShouldBe(Convert.ToUInt32("640", 8));
        status.LinkCount.ShouldBe(1u);
        status.Uid.ShouldBe(Posix.EffectiveUserId);
    }

    [Fact]
    public void TryLinkStatus_is_false_for_a_missing_path_or_one_under_a_file_and_throws_for_a_name_too_long()
    {
        var file = NewFile("plain.bin", 10);

        Posix.TryLinkStatus(_temp.Combine("missing"), out _).ShouldBeFalse();
        Posix.TryLinkStatus(Path.Combine(file, "child"), out _).ShouldBeFalse(); // ENOTDIR
        Posix.TryLinkStatus(file, out var status).ShouldBeTrue();
        status.ShouldBe(Posix.LinkStatus(file));
        // A path too long for the kernel is not "missing": it is an error, as from LinkStatus.
        Should.Throw<IOException>(() => Posix.TryLinkStatus(_temp.Combine(new string('x', 300)), out _));
    }

    [Fact]
    public void LinkStatus_agrees_with_gnu_stat()
    {
        var path = NewFile("compare.bin", 4321);
        Posix.SetTimes(path, 1_500_000_000_111_111_111, 1_600_000_000_222_222_222, noFollow: false);

        var status = Posix.LinkStatus(path);
        var fields = Tool.RunText("stat", "-c", "%f %u %g %s %i %d %h %.9X %.9Y %.9Z", path).Split(' ');

        status.Mode.ShouldBe(Convert.ToUInt32(fields[0], 16));
        status.Uid.ShouldBe(uint.Parse(fields[1], CultureInfo.InvariantCulture));
        status.Gid.ShouldBe(uint.Parse(fields[2], CultureInfo.InvariantCulture));
        status.Size.ShouldBe(long.Parse(fields[3], CultureInfo.InvariantCulture));
        status.Inode.ShouldBe(ulong.Parse(fields[4], CultureInfo.InvariantCulture));
        status.Device.ShouldBe(ulong.Parse(fields[5], CultureInfo.InvariantCulture));
        status.LinkCount.ShouldBe(uint.Parse(fields[6], CultureInfo.InvariantCulture));
        status.AccessTimeNs.ShouldBe(ParseNs(fields[7]));
        status.ModifyTimeNs.ShouldBe(ParseNs(fields[8]));
        status.ChangeTimeNs.ShouldBe(ParseNs(fields[9]));
    }

    private static long ParseNs(string secondsDotNanos)
    {
        var parts = secondsDotNanos.Split('.');
        return (long.Parse(parts[0], CultureInfo.InvariantCulture) * 1_000_000_000)
            + long.Parse(parts[1], CultureInfo.InvariantCulture);
    }

    [Fact]
    public void LinkStatus_of_a_directory_reports_the_directory_type()
    {
        Directory.CreateDirectory(_temp.Combine("sub"));

        var status = Posix.LinkStatus(_temp.Path);

        (status.Mode & S_IFMT).ShouldBe(S_IFDIR);
        status.LinkCount.ShouldBeGreaterThanOrEqualTo(3u);
    }

    [Theory]
    [InlineData(1_600_000_000_123_456_789, 1_234_567_890_987_654_321)]
    [InlineData(0, 1)]
    [InlineData(-1_500_000_001, -999_999_999)]
    public void SetTimes_then_LinkStatus_reads_back_the_exact_nanoseconds(long atime, long mtime)
    {
        var path = NewFile("times.bin", 10);

        Posix.SetTimes(path, atime, mtime, noFollow: false);
        var status = Posix.LinkStatus(path);

        status.AccessTimeNs.ShouldBe(atime);
        status.ModifyTimeNs.ShouldBe(mtime);
    }

    [Fact]
    public void LinkStatus_does_not_follow_a_symlink()
    {
        var target = NewFile("target.bin", 5000);
        var link = _temp.Combine("link");
        File.CreateSymbolicLink(link, target);

        var linkStatus = Posix.LinkStatus(link);
        var targetStatus = Posix.LinkStatus(target);

        (linkStatus.Mode & S_IFMT).ShouldBe(S_IFLNK);
        linkStatus.Size.ShouldBe(System.Text.Encoding.UTF8.GetByteCount(target));
        linkStatus.Inode.ShouldNotBe(targetStatus.Inode);
        (targetStatus.Mode & S_IFMT).ShouldBe(S_IFREG);
    }

    [Fact]
    public void LinkStatus_of_a_dangling_symlink_succeeds()
    {
        var link = _temp.Combine("dangling");
        File.CreateSymbolicLink(link, _temp.Combine("nowhere"));

        (Posix.LinkStatus(link).Mode & S_IFMT).ShouldBe(S_IFLNK);
    }

    [Fact]
    public void LinkStatus_of_a_missing_path_throws_FileNotFoundException_naming_it()
    {
        var missing = _temp.Combine("missing.bin");

        var ex = Should.Throw<FileNotFoundException>(() => Posix.LinkStatus(missing));

        ex.FileName.ShouldBe(missing);
        ex.Message.ShouldContain(missing);
        ex.Message.ShouldContain("No such file or directory");
    }

    [Fact]
    public void LinkStatus_below_a_regular_file_throws_DirectoryNotFoundException()
    {
        var file = NewFile("plain", 1);

        var ex = Should.Throw<DirectoryNotFoundException>(() => Posix.LinkStatus(Path.Combine(file, "child")));
        ex.Message.ShouldContain("Not a directory");
    }

    [Fact]
    public void Paths_with_a_NUL_character_are_rejected_rather_than_truncated()
    {
        var file = NewFile("real", 1);

        Should.Throw<ArgumentException>(() => Posix.LinkStatus(file + "\0ignored"));
        Should.Throw<ArgumentException>(() => Posix.SetTimes(file + "\0x", 0, 0, noFollow: false));
    }

    [Fact]
    public void SetTimes_with_noFollow_changes_the_link_and_not_its_target()
    {
        var target = NewFile("target.bin", 10);
        var link = _temp.Combine("link");
        File.CreateSymbolicLink(link, target);
        const long TargetTime = 1_400_000_000_000_000_001;
        const long LinkTime = 1_700_000_000_000_000_002;
        Posix.SetTimes(target, TargetTime, TargetTime, noFollow: false);

        Posix.SetTimes(link, LinkTime, LinkTime, noFollow: true);

        Posix.LinkStatus(link).ModifyTimeNs.ShouldBe(LinkTime);
        Posix.LinkStatus(target).ModifyTimeNs.ShouldBe(TargetTime);
    }

    [Fact]
    public void SetTimes_without_noFollow_changes_the_target_and_not_the_link()
    {
        var target = NewFile("target.bin", 10);
        var link = _temp.Combine("link");
        File.CreateSymbolicLink(link, target);
        const long LinkTime = 1_400_000_000_000_000_003;
        const long TargetTime = 1_700_000_000_000_000_004;
        Posix.SetTimes(link, LinkTime, LinkTime, noFollow: true);

        Posix.SetTimes(link, TargetTime, TargetTime, noFollow: false);

        Posix.LinkStatus(target).ModifyTimeNs.ShouldBe(TargetTime);
        Posix.LinkStatus(link).ModifyTimeNs.ShouldBe(LinkTime);
    }

    [Fact]
    public void SetTimes_on_a_missing_path_throws_FileNotFoundException()
    {
        Should.Throw<FileNotFoundException>(() => Posix.SetTimes(_temp.Combine("gone"), 0, 0, noFollow: true));
    }

    [Fact]
    public void A_refused_change_throws_UnauthorizedAccessException_naming_the_path()
    {
        var file = NewFile("locked.bin", 1);
        if (Posix.EffectiveUserId != 0)
        {
            // Only the owner may set explicit times, and we do not own the root directory.
            Should.Throw<UnauthorizedAccessException>(() => Posix.SetTimes("/", 0, 0, noFollow: false))
                .Message.ShouldContain("'/'");
            return;
        }

        // Root bypasses permission checks but not the immutable flag (EPERM).
        Tool.Run("chattr", null, "+i", file);
        try
        {
            var ex = Should.Throw<UnauthorizedAccessException>(() => Posix.SetTimes(file, 0, 0, noFollow: false));
            ex.Message.ShouldContain(file);
            ex.Message.ShouldContain("Operation not permitted");
        }
        finally
        {
            Tool.Run("chattr", null, "-i", file);
        }
    }

    [Fact]
    public void SetOwner_changes_owners_as_root_and_is_refused_otherwise()
    {
        var target = NewFile("owned.bin", 1);
        var link = _temp.Combine("link");
        File.CreateSymbolicLink(link, target);

        if (Posix.EffectiveUserId != 0)
        {
            Should.Throw<UnauthorizedAccessException>(() => Posix.SetOwner(target, 0, 0, noFollow: false));
            return;
        }

        Posix.SetOwner(target, 4242, 4343, noFollow: false);
        var status = Posix.LinkStatus(target);
        status.Uid.ShouldBe(4242u);
        status.Gid.ShouldBe(4343u);

        Posix.SetOwner(link, 5151, 5252, noFollow: true);
        Posix.LinkStatus(link).Uid.ShouldBe(5151u);
        Posix.LinkStatus(link).Gid.ShouldBe(5252u);
        Posix.LinkStatus(target).Uid.ShouldBe(4242u);

        Posix.SetOwner(link, 6161, 6262, noFollow: false);
        Posix.LinkStatus(target).Uid.ShouldBe(6161u);
        Posix.LinkStatus(link).Uid.ShouldBe(5151u);
    }

    [Fact]
    public void SetOwner_to_the_current_owner_succeeds_and_a_missing_path_throws()
    {
        var file = NewFile("mine.bin", 1);
        var status = Posix.LinkStatus(file);

        Posix.SetOwner(file, status.Uid, status.Gid, noFollow: true);

        Posix.LinkStatus(file).Uid.ShouldBe(status.Uid);
        Should.Throw<FileNotFoundException>(
            () => Posix.SetOwner(_temp.Combine("gone"), status.Uid, status.Gid, noFollow: false));
    }

    [Fact]
    public void IsProcessAlive_is_true_for_this_process_and_init()
    {
        Posix.IsProcessAlive(Environment.ProcessId).ShouldBeTrue();
        Posix.IsProcessAlive(1).ShouldBeTrue();
    }

    [Fact]
    public void IsProcessAlive_is_false_for_a_process_that_has_exited()
    {
        using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        process.WaitForExit();

        Posix.IsProcessAlive(process.Id).ShouldBeFalse();
    }

    [Fact]
    public void IsProcessAlive_is_false_for_a_pid_above_any_pid_max()
    {
        // The kernel caps pid_max at 2^22.
        Posix.IsProcessAlive(int.MaxValue).ShouldBeFalse();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void IsProcessAlive_rejects_group_pids(int pid)
    {
        Should.Throw<ArgumentOutOfRangeException>(() => Posix.IsProcessAlive(pid));
    }

    [Fact]
    public void EffectiveUserId_matches_id_u()
    {
        Posix.EffectiveUserId.ShouldBe(uint.Parse(Tool.RunText("id", "-u"), CultureInfo.InvariantCulture));
    }
}
