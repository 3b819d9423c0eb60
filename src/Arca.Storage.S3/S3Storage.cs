using System.Net;
using System.Runtime.CompilerServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Arca.Storage.S3;

/// <summary>
/// A repository in a bucket of an S3-compatible store, laid out as <see cref="StorageLayout"/> says under an
/// optional prefix. Each file is one object written by one PutObject (or one multipart upload), which S3
/// makes visible whole or not at all; writes carry <c>If-None-Match: *</c>, so a name is written once even
/// when two clients race. The SDK's own retries are off: <see cref="Decorators.RetryingStorage"/> is the one
/// place that retries, and this class only says which failures are worth retrying.
/// </summary>
public sealed class S3Storage : IStorage, IDisposable
{
    private readonly AmazonS3Client _client;
    private readonly S3Location _location;
    private readonly S3Options _options;

    public S3Storage(S3Location location, S3Options options)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _location = location;
        _options = options;
        AWSCredentials credentials = options.SessionToken is null
            ? new BasicAWSCredentials(options.AccessKeyId, options.SecretAccessKey)
            : new SessionAWSCredentials(options.AccessKeyId, options.SecretAccessKey, options.SessionToken);
        _client = new AmazonS3Client(credentials, new AmazonS3Config
        {
            ServiceURL = location.Endpoint.ToString(),
            ForcePathStyle = true,
            AuthenticationRegion = options.Region,
            MaxErrorRetry = 0,
            Timeout = options.RequestTimeout,
            MaxConnectionsPerServer = options.Connections * 2,
            // No CRC32 of every upload and download on top of what already guards the bytes: SigV4 signs each
            // body's SHA-256 (over http) or TLS carries it (https), and every blob is authenticated (AES-GCM)
            // and every pack named by its SHA-256.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        });
        Properties = new StorageProperties(location.ToString(), options.Connections, IsRemote: true);
    }

    public StorageProperties Properties { get; }

    public S3Location Location => _location;

    /// <summary>Creates the bucket if it is not there (for init); a bucket that exists is fine.</summary>
    public async Task CreateAsync(CancellationToken cancellationToken)
    {
        await CallAsync("create the bucket", async () =>
        {
            try
            {
                await _client.PutBucketAsync(new PutBucketRequest { BucketName = _location.Bucket }, cancellationToken);
            }
            catch (AmazonS3Exception ex) when (ex.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists"
                                                   || ex.StatusCode == HttpStatusCode.Conflict)
            {
            }
            return 0;
        }, cancellationToken);
    }

    public async Task PutAsync(StorageKey key, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var objectKey = ObjectKey(key);
        var length = content.CanSeek ? content.Length - content.Position : -1;
        await CallAsync($"write {key}", async () =>
        {
            try
            {
                if (length > _options.MultipartThreshold)
                {
                    await PutInPartsAsync(objectKey, content, length, cancellationToken);
                }
                else
                {
                    var request = new PutObjectRequest
                    {
                        BucketName = _location.Bucket,
                        Key = objectKey,
                        // The SDK reads a seekable stream from its start: give it only what lies past the position.
                        InputStream = content.CanSeek && content.Position != 0 ? new WindowStream(content, length) : content,
                        AutoCloseStream = false,
                        IfNoneMatch = "*",
                        // A body that can be read twice goes whole, signed by its SHA-256 (the SDK reads it once to
                        // hash it). Signed chunk by chunk (aws-chunked), as the SDK would otherwise send it, it costs
                        // the server the decoding: fauxqs's CPU for a 1 GiB backup went from 6.45 to 4.35 s (medians).
                        UseChunkEncoding = !content.CanSeek,
                    };
                    if (length >= 0)
                    {
                        request.Headers.ContentLength = length;
                    }
                    await _client.PutObjectAsync(request, cancellationToken);
                }
            }
            catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.PreconditionFailed)
            {
                // The name exists: names are hashes of content (or written once, like the config), so it holds
                // these bytes already, as LocalStorage treats it.
            }
            return 0;
        }, cancellationToken);
    }

    /// <summary>A multipart upload, parts read in order and sent <see cref="S3Options.Connections"/> at a time.</summary>
    private async Task PutInPartsAsync(string objectKey, Stream content, long length, CancellationToken cancellationToken)
    {
        var upload = await _client.InitiateMultipartUploadAsync(
            new InitiateMultipartUploadRequest { BucketName = _location.Bucket, Key = objectKey }, cancellationToken);
        try
        {
            var partCount = (int)((length + _options.PartSize - 1) / _options.PartSize);
            var etags = new PartETag[partCount];
            using var slots = new SemaphoreSlim(Math.Max(1, _options.Connections));
            var sends = new List<Task>();
            for (var part = 1; part <= partCount; part++)
            {
                await slots.WaitAsync(cancellationToken);
                var size = (int)Math.Min(_options.PartSize, length - ((long)(part - 1) * _options.PartSize));
                var buffer = new byte[size];
                try
                {
                    await content.ReadExactlyAsync(buffer, cancellationToken);
                }
                catch
                {
                    slots.Release();
                    throw;
                }
                var number = part;
                sends.Add(Task.Run(async () =>
                {
                    try
                    {
                        using var body = new MemoryStream(buffer, writable: false);
                        var response = await _client.UploadPartAsync(new UploadPartRequest
                        {
                            BucketName = _location.Bucket,
                            Key = objectKey,
                            UploadId = upload.UploadId,
                            PartNumber = number,
                            InputStream = body,
                            PartSize = size,
                            UseChunkEncoding = false, // in memory: signed whole, as a single upload is (see PutAsync)
                        }, cancellationToken);
                        etags[number - 1] = new PartETag(number, response.ETag);
                    }
                    finally
                    {
                        slots.Release();
                    }
                }, cancellationToken));
            }
            await Task.WhenAll(sends);
            await _client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _location.Bucket,
                Key = objectKey,
                UploadId = upload.UploadId,
                PartETags = [.. etags],
                IfNoneMatch = "*",
            }, cancellationToken);
        }
        catch
        {
            // Parts of an unfinished upload cost storage until aborted; the abort is best effort.
            try
            {
                await _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest
                {
                    BucketName = _location.Bucket,
                    Key = objectKey,
                    UploadId = upload.UploadId,
                }, CancellationToken.None);
            }
            catch (Exception abort) when (abort is AmazonServiceException or HttpRequestException or IOException)
            {
            }
            throw;
        }
    }

    public Task ReadAsync(StorageKey key, long offset, long length, Func<Stream, CancellationToken, Task> consume,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(consume);
        if (offset < 0 || length < 0 || offset > long.MaxValue - length)
        {
            throw OutsideError(key, offset, length, null);
        }
        return CallAsync($"read {key}", async () =>
        {
            var request = new GetObjectRequest { BucketName = _location.Bucket, Key = ObjectKey(key) };
            if (length > 0)
            {
                request.ByteRange = new ByteRange(offset, offset + length - 1);
            }
            else if (offset > 0)
            {
                request.ByteRange = new ByteRange($"bytes={offset}-");
            }
            try
            {
                using var response = await _client.GetObjectAsync(request, cancellationToken);
                // S3 answers a range that runs past the end with the bytes it has: that is a bad range here.
                if (length > 0 && response.ContentLength != length)
                {
                    throw OutsideError(key, offset, length, response.ContentLength);
                }
                await consume(response.ResponseStream, cancellationToken);
            }
            catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                // "From the end to the end" is an empty read, which S3 refuses as a range.
                var size = (await _client.GetObjectMetadataAsync(_location.Bucket, ObjectKey(key), cancellationToken)).ContentLength;
                if (length != 0 || offset != size)
                {
                    throw OutsideError(key, offset, length, size);
                }
                await consume(Stream.Null, cancellationToken);
            }
            return 0;
        }, cancellationToken, key);
    }

    public async Task<StorageEntry?> StatAsync(StorageKey key, CancellationToken cancellationToken)
    {
        try
        {
            return await CallAsync($"look up {key}", async () =>
            {
                var response = await _client.GetObjectMetadataAsync(_location.Bucket, ObjectKey(key), cancellationToken);
                return new StorageEntry(key, response.ContentLength);
            }, cancellationToken, key);
        }
        catch (StorageNotFoundException)
        {
            return null;
        }
    }

    public async IAsyncEnumerable<StorageEntry> ListAsync(StorageKind kind, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (kind == StorageKind.Config)
        {
            if (await StatAsync(new StorageKey(StorageKind.Config, StorageLayout.ConfigName), cancellationToken) is { } config)
            {
                yield return config;
            }
            yield break;
        }
        var prefix = _location.ObjectKey(StorageLayout.FolderOf(kind)) + "/";
        string? token = null;
        do
        {
            var request = new ListObjectsV2Request { BucketName = _location.Bucket, Prefix = prefix, ContinuationToken = token };
            var page = await CallAsync($"list {StorageLayout.FolderOf(kind)}/", () => _client.ListObjectsV2Async(request, cancellationToken),
                cancellationToken);
            foreach (var item in page.S3Objects ?? [])
            {
                var relative = item.Key[prefix.Length..];
                var name = relative[(relative.LastIndexOf('/') + 1)..];
                // Packs sit one folder down (data/XX/); other kinds directly in theirs.
                var depth = relative.Count(c => c == '/');
                if (name.Length == 0 || depth != (kind == StorageKind.Pack ? 1 : 0))
                {
                    continue;
                }
                yield return new StorageEntry(new StorageKey(kind, name), item.Size ?? 0);
            }
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (token is not null);
    }

    public Task DeleteAsync(StorageKey key, CancellationToken cancellationToken) =>
        CallAsync($"delete {key}", async () =>
        {
            try
            {
                await _client.DeleteObjectAsync(_location.Bucket, ObjectKey(key), cancellationToken);
            }
            catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
            {
            }
            return 0;
        }, cancellationToken);

    public void Dispose() => _client.Dispose();

    private StorageException OutsideError(StorageKey key, long offset, long length, long? available) =>
        new($"Could not read {key} in {Properties.Location}: {length} bytes at {offset} lie outside it"
            + (available is { } n ? $" ({n} bytes there)." : "."), isTransient: false);

    private string ObjectKey(StorageKey key) => _location.ObjectKey(StorageLayout.RelativePath(key));

    /// <summary>
    /// Runs one request and turns what the SDK and the network throw into storage errors: not found, transient
    /// (throttling, 5xx, timeouts, dropped connections, truncated bodies) or permanent (everything else).
    /// </summary>
    private async Task<T> CallAsync<T>(string what, Func<Task<T>> call, CancellationToken cancellationToken, StorageKey? key = null)
    {
        try
        {
            return await call();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (StorageException)
        {
            throw;
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound && key is { } missing)
        {
            throw new StorageNotFoundException(missing, ex);
        }
        catch (AmazonServiceException ex)
        {
            var status = (int)ex.StatusCode;
            var transient = status >= 500 || status == 429 || status == 408 || ex.ErrorCode is "SlowDown" or "RequestTimeout"
                            || ex.InnerException is HttpRequestException or IOException;
            var detail = status is 401 or 403
                ? "access denied; check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the bucket's policy"
                : $"{ex.ErrorCode ?? ex.StatusCode.ToString()} ({status}): {ex.Message}";
            throw new StorageException($"Could not {what} in {Properties.Location}: {detail}", transient, ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException or AmazonClientException)
        {
            // Connection refused or reset, a body cut short, or the request's own timeout.
            throw new StorageException($"Could not {what} in {Properties.Location}: {ex.Message}", isTransient: true, ex);
        }
    }
}
