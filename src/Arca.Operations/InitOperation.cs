using Arca.Repo;
using Arca.Repo.Crypto;

namespace Arca.Operations;

/// <summary>Creates a repository. Refuses, without touching anything, where one exists.</summary>
public sealed class InitOperation(TimeProvider time)
{
    public async Task<Repository> RunAsync(string location, string password, KdfParameters? kdf, CancellationToken cancellationToken)
    {
        if (password.Length == 0)
        {
            throw new ArcaException(ErrorCode.Usage, "The password is empty.", "Choose a password: an empty one protects nothing.");
        }
        var storage = RepositoryLocation.Open(location);
        if (storage is Storage.Local.LocalStorage local && File.Exists(local.Root))
        {
            throw new ArcaException(ErrorCode.Usage, $"'{location}' is a file, not a folder.", "Choose a folder for the repository.");
        }
        var repository = await Repository.InitAsync(storage, password, new RepositoryOptions { Kdf = kdf ?? KdfParameters.Default }, time, cancellationToken);
        if (storage is Storage.Local.LocalStorage folder)
        {
            // Not needed (writes create folders), but a new repository that shows its layout is less surprising.
            await folder.CreateLayoutAsync(cancellationToken);
        }
        return repository;
    }
}
