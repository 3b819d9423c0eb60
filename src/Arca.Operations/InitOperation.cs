using Arca.Repo;
using Arca.Repo.Crypto;
using Arca.Storage;
using Arca.Storage.Local;

namespace Arca.Operations;

/// <summary>Creates a repository. Refuses, without touching anything, where one exists.</summary>
public sealed class InitOperation(TimeProvider time)
{
    public async Task<Repository> RunAsync(IStorage storage, string password, KdfParameters? kdf, CancellationToken cancellationToken)
    {
        if (password.Length == 0)
        {
            throw new ArcaException(ErrorCode.Usage, "The password is empty.", "Choose a password: an empty one protects nothing.");
        }
        if (storage is LocalStorage local && File.Exists(local.Root))
        {
            throw new ArcaException(ErrorCode.Usage, $"'{local.Root}' is a file, not a folder.", "Choose a folder for the repository.");
        }
        // The bucket or folder first, so the existence check below can tell "empty" from "unreachable".
        await storage.CreateAsync(cancellationToken);
        return await Repository.InitAsync(storage, password, new RepositoryOptions { Kdf = kdf ?? KdfParameters.Default }, time,
            cancellationToken);
    }
}
