namespace Arca.Repo;

/// <summary>A blob's stored bytes do not decrypt or do not match its id: the pack holding it is damaged.</summary>
public sealed class BlobDamagedException : Exception
{
    public BlobDamagedException(BlobId blob, PackId pack, string reason)
        : base($"Blob {blob} in pack {pack} is damaged: {reason}.")
    {
        Blob = blob;
        Pack = pack;
    }

    public BlobId Blob { get; }
    public PackId Pack { get; }
}
