namespace Arca.Cli.Tests;

/// <summary>Where a test's repository lives; each test class that backs up files runs once per backend.</summary>
public enum Backend
{
    /// <summary>A folder inside the test's temp folder.</summary>
    Local,

    /// <summary>A fresh bucket on the S3 test server (<see cref="Arca.TestKit.S3TestServer"/>).</summary>
    S3,
}
