using System.Security.Cryptography;
using Arca.Repo;
using Arca.Repo.Crypto;
using Arca.Repo.Format;

namespace Arca.Core.Tests.Format;

public sealed class FormatRoundTripTests
{
    private static readonly MasterKey Key = MasterKey.Create();

    private static BlobId RandomId() => new(new Hash256(RandomNumberGenerator.GetBytes(32)));

    [Fact]
    public void A_blob_sealed_in_place_opens_to_its_plaintext_and_differs_from_it()
    {
        var plaintext = RandomNumberGenerator.GetBytes(100_000);
        var buffer = new byte[Sealer.SealedLength(plaintext.Length) + 50];
        plaintext.CopyTo(buffer, Sealer.NonceSize);

        var length = Key.Sealer.SealInPlace(buffer, plaintext.Length);

        length.ShouldBe(Sealer.SealedLength(plaintext.Length));
        buffer.AsSpan(Sealer.NonceSize, 64).ToArray().ShouldNotBe(plaintext[..64]);
        Key.Sealer.Open(buffer.AsSpan(0, length)).ShouldBe(plaintext);
        Should.Throw<ArgumentException>(() => Key.Sealer.SealInPlace(new byte[Sealer.Overhead + 9], 10));
    }

    [Fact]
    public void A_blob_sealed_under_its_id_opens_under_that_id_only()
    {
        var plaintext = RandomNumberGenerator.GetBytes(1000);
        var buffer = new byte[Sealer.SealedLength(plaintext.Length)];
        plaintext.CopyTo(buffer, Sealer.NonceSize);
        var id = RandomId();

        var length = Key.SealBlob(buffer, plaintext.Length, id);

        var opened = new byte[plaintext.Length];
        Key.TryOpenBlob(buffer.AsSpan(0, length), opened, id, out var n).ShouldBeTrue();
        opened.AsSpan(0, n).ToArray().ShouldBe(plaintext);
        Key.TryOpenBlob(buffer.AsSpan(0, length), opened, RandomId(), out _).ShouldBeFalse();
        Key.Sealer.Open(buffer.AsSpan(0, length)).ShouldBeNull(); // not without its id either
    }

    [Fact]
    public void Pack_trailer_round_trips_entries_and_derives_offsets_from_order()
    {
        var blobs = new List<BlobEntry>
        {
            new(RandomId(), BlobType.Data, true, 0, 100, 400),
            new(RandomId(), BlobType.Tree, false, 100, 50, 22),
            new(RandomId(), BlobType.Data, false, 150, 1 << 20, (1 << 20) - 28),
        };
        var trailer = PackTrailer.Encode(Key.Sealer, blobs);
        var headerLength = PackTrailer.HeaderLength(trailer.AsSpan(^4));
        headerLength.ShouldBe(trailer.Length - 4);
        var decoded = PackTrailer.Decode(Key.Sealer, trailer.AsSpan(0, headerLength), "p");
        decoded.ShouldBe(blobs);
    }

    [Fact]
    public void Pack_trailer_with_a_flipped_bit_is_refused()
    {
        var trailer = PackTrailer.Encode(Key.Sealer, [new(RandomId(), BlobType.Data, true, 0, 100, 400)]);
        trailer[20] ^= 1;
        Should.Throw<InvalidDataException>(() => PackTrailer.Decode(Key.Sealer, trailer.AsSpan(0, trailer.Length - 4), "p"));
    }

    [Fact]
    public void Pack_trailer_sealed_with_another_key_is_refused()
    {
        var trailer = PackTrailer.Encode(MasterKey.Create().Sealer, [new(RandomId(), BlobType.Data, true, 0, 100, 400)]);
        Should.Throw<InvalidDataException>(() => PackTrailer.Decode(Key.Sealer, trailer.AsSpan(0, trailer.Length - 4), "p"));
    }

    [Fact]
    public void Index_file_round_trips_packs_blobs_and_superseded_ids()
    {
        var pack = new PackId(new Hash256(RandomNumberGenerator.GetBytes(32)));
        var file = new IndexFile([new Hash256(RandomNumberGenerator.GetBytes(32))],
            [new IndexFile.PackBlobs(pack, [new(RandomId(), BlobType.Data, true, 0, 10, 20), new(RandomId(), BlobType.Tree, false, 10, 5, 5)])]);
        var decoded = IndexFile.Decode(file.Encode(), "i");
        decoded.Supersedes.ShouldBe(file.Supersedes);
        decoded.Packs.Count.ShouldBe(1);
        decoded.Packs[0].Pack.ShouldBe(pack);
        decoded.Packs[0].Blobs.ShouldBe(file.Packs[0].Blobs);
    }

    [Fact]
    public void Truncated_index_file_is_reported_as_invalid_data()
    {
        var file = new IndexFile([], [new IndexFile.PackBlobs(new PackId(default), [new(RandomId(), BlobType.Data, true, 0, 10, 20)])]);
        var bytes = file.Encode();
        Should.Throw<InvalidDataException>(() => IndexFile.Decode(bytes.AsSpan(0, bytes.Length - 3), "i"));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(10, true)]
    [InlineData(100_000, true)]
    [InlineData(100_000, false)]
    public void Sealed_file_round_trips_with_and_without_compression(int length, bool compress)
    {
        var payload = new byte[length];
        for (var i = 0; i < length; i++)
        {
            payload[i] = (byte)(i % 7);
        }
        var sealedBytes = SealedFile.Encode(Key.Sealer, payload, compress);
        SealedFile.Decode(Key.Sealer, sealedBytes, "f").ShouldBe(payload);
        if (compress && length > 1000)
        {
            sealedBytes.Length.ShouldBeLessThan(length / 10);
        }
    }

    [Fact]
    public void Sealed_file_with_a_flipped_bit_is_refused()
    {
        var sealedBytes = SealedFile.Encode(Key.Sealer, "hello, snapshot"u8, compress: false);
        sealedBytes[^1] ^= 0x80;
        Should.Throw<InvalidDataException>(() => SealedFile.Decode(Key.Sealer, sealedBytes, "f"));
    }

    [Fact]
    public void Master_key_wrapped_under_a_password_opens_only_with_that_password()
    {
        var salt = RandomNumberGenerator.GetBytes(KeyWrapping.SaltSize);
        var wrapped = KeyWrapping.Wrap(Key, KeyWrapping.DeriveKey("right", salt, KdfParameters.Insecure));
        var opened = KeyWrapping.Unwrap(wrapped, KeyWrapping.DeriveKey("right", salt, KdfParameters.Insecure));
        opened.ShouldNotBeNull();
        opened.EncryptionKey.ShouldBe(Key.EncryptionKey);
        opened.MacKey.ShouldBe(Key.MacKey);
        KeyWrapping.Unwrap(wrapped, KeyWrapping.DeriveKey("wrong", salt, KdfParameters.Insecure)).ShouldBeNull();
    }

    [Fact]
    public void Blob_ids_are_keyed_so_two_repositories_give_different_ids_for_the_same_content()
    {
        var data = "same content"u8.ToArray();
        Key.IdOf(data).ShouldBe(Key.IdOf(data));
        MasterKey.Create().IdOf(data).ShouldNotBe(Key.IdOf(data));
        // HMAC-SHA-256 known answer (RFC 4231 test case 2): HMAC pads keys with zeros, so "Jefe" and
        // "Jefe" followed by 28 zero bytes are the same key.
        var rfc = new MasterKey(new byte[32], "Jefe"u8.ToArray().Concat(new byte[28]).ToArray());
        rfc.IdOf("what do ya want for nothing?"u8).ToString().ShouldBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    [Fact]
    public void Hash256_parses_and_prints_lowercase_hex_and_orders_by_bytes()
    {
        var hex = "00" + new string('f', 62);
        var hash = Hash256.Parse(hex);
        hash.ToString().ShouldBe(hex);
        Hash256.TryParse("xyz", out _).ShouldBeFalse();
        Hash256.TryParse(new string('g', 64), out _).ShouldBeFalse();
        (hash < Hash256.Parse("01" + new string('0', 62))).ShouldBeTrue();
    }
}
