using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;

namespace Switchboard.Platform.Http;

/// <summary>
/// One <c>Idempotency-Key</c> of one caller (table <c>idempotency_keys</c>, migration 0038): the request it was first sent
/// with (<see cref="RequestHash"/>) and, once that request succeeded, its response (<see cref="Status"/>,
/// <see cref="ContentType"/>, <see cref="Location"/>, <see cref="Body"/>), replayed for 24 hours.
/// </summary>
internal sealed class IdempotencyRecord
{
    public Guid TenantId { get; set; }

    /// <summary>Whose key it is: <c>api_key:{id}</c> or <c>user:{id}</c> (a session). Another caller's same key is another key.</summary>
    public required string Principal { get; set; }

    /// <summary>The header's value: 1 – 255 printable ASCII characters.</summary>
    public required string Key { get; set; }

    /// <summary>SHA-256 (lower-case hex) of the method, path, query string, Content-Type and body bytes.</summary>
    public required string RequestHash { get; set; }

    /// <summary>The response's status code; null while the first request runs.</summary>
    public int? Status { get; set; }

    public string? ContentType { get; set; }

    /// <summary>The response's <c>Location</c> header (a create's 201), replayed with it.</summary>
    public string? Location { get; set; }

    /// <summary>
    /// The response's body (UTF-8 text, at most <see cref="IdempotencyMiddleware.MaxStoredBody"/> bytes), encrypted with the
    /// server's data-protection keys (purpose <see cref="IdempotencyMiddleware.Purpose"/>): a create's answer can carry a
    /// secret shown once (<c>POST /api/v1/keys</c>), which must not sit in the database in clear for 24 hours.
    /// </summary>
    public string? Body { get; set; }

    /// <summary>When the first request claimed the key; the key expires <see cref="IdempotencyMiddleware.Lifetime"/> later.</summary>
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// <c>Idempotency-Key</c> on every tenant-scoped <c>POST /api/v1/…</c> (not <c>/api/v1/auth</c> or <c>/api/v1/operator</c>),
/// as Stripe has it (docs.stripe.com/api/idempotent_requests, ../shared/protocols/stripe-billing.md §7): a client that
/// retries a create after a timeout sends the same key and gets the first response again, not a second key or endpoint.
/// <list type="bullet">
/// <item>The key is 1 – 255 printable ASCII characters (a UUID v4 is the usual choice), else 400
/// <c>IDEMPOTENCY_KEY_INVALID</c>. Keys are scoped to the tenant and the caller (the API key, or the signed-in user).</item>
/// <item>Same key, same request (method, path, query, Content-Type and body, byte for byte): the first response is replayed,
/// status, <c>Content-Type</c>, <c>Location</c> and body, with <c>Idempotent-Replayed: true</c>.</item>
/// <item>Same key, another request: 400 <c>IDEMPOTENCY_KEY_REUSED</c> (Stripe: 400 <c>idempotency_error</c>); nothing runs.</item>
/// <item>Same key while the first request still runs: 409 <c>IDEMPOTENCY_KEY_IN_USE</c> with <c>Retry-After: 1</c>.</item>
/// <item>Only a success (2xx) is kept. A refusal (4xx) or a failure (5xx) releases the key, so the corrected request can
/// be sent again with it: Stripe likewise keeps nothing when a request fails validation or conflicts, and our refusals
/// change nothing. Stripe keeps a 500 too; ours are rolled back, so running the request again is the safe reading.</item>
/// <item>A key is kept <see cref="Lifetime"/> (24 h, Stripe's minimum) from its first use, then the retention pass deletes it
/// and the key is new again. A claim whose request never finished (the node stopped) is taken over after
/// <see cref="AbandonedAfter"/>.</item>
/// </list>
/// Runs after authentication, authorization and <see cref="StorableTextGuardMiddleware"/>: a request refused there never
/// claims its key. The claim and the result are written through a DI scope of their own, outside the endpoint's unit of work.
/// </summary>
internal sealed class IdempotencyMiddleware(RequestDelegate next, IServiceScopeFactory scopes, TimeProvider clock,
    IDataProtectionProvider protection)
{
    /// <summary>The data-protection purpose of the stored response bodies.</summary>
    public const string Purpose = "Switchboard.Idempotency.v1";

    private readonly IDataProtector protector = protection.CreateProtector(Purpose);

    /// <summary>The request header.</summary>
    public const string Header = "Idempotency-Key";

    /// <summary>The response header set on a replay (Stripe's name).</summary>
    public const string ReplayedHeader = "Idempotent-Replayed";

    /// <summary>Longest key, in characters (Stripe: 255).</summary>
    public const int MaxKeyLength = 255;

    /// <summary>
    /// Largest response body kept for replay, in bytes (64 KiB). A larger success is answered in full (it is written through
    /// as it is produced, never held whole in memory) but not kept, and its key is released: a retry with the key runs the
    /// request again. No create of this API answers that much; the cap bounds what one caller can make the server hold.
    /// </summary>
    public const int MaxStoredBody = 64 * 1024;

    /// <summary>How long a key is kept after its first use.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    /// <summary>After this, a claim whose request never finished may be taken over by a retry.</summary>
    public static readonly TimeSpan AbandonedAfter = TimeSpan.FromMinutes(5);

    public Task InvokeAsync(HttpContext http) =>
        HttpMethods.IsPost(http.Request.Method) && http.Request.Headers.ContainsKey(Header) && http.Request.Path.StartsWithSegments("/api/v1")
        && !http.Request.Path.StartsWithSegments("/api/v1/auth") && !http.Request.Path.StartsWithSegments("/api/v1/operator")
            ? IdempotentAsync(http)
            : next(http);

    private async Task IdempotentAsync(HttpContext http)
    {
        var caller = Caller.From(http);
        var principal = caller.ApiKeyId is { } keyId ? "api_key:" + keyId : caller.UserId is { } userId ? "user:" + userId : null;
        if (caller.TenantId is not { } tenantId || principal is null)
        {
            await next(http); // no tenant to scope the key to: the endpoint answers as it would
            return;
        }
        var values = http.Request.Headers[Header];
        var key = values.Count == 1 ? values[0] : null;
        if (key is null || key.Length is 0 or > MaxKeyLength || key.Any(c => c is < '!' or > '~'))
        {
            await ApiError.WriteAsync(http, 400, "IDEMPOTENCY_KEY_INVALID",
                $"The {Header} header must be one value of 1 to {MaxKeyLength} printable ASCII characters, such as a UUID.",
                new Dictionary<string, string> { [Header] = $"1 to {MaxKeyLength} printable ASCII characters" });
            return;
        }
        var hash = await HashAsync(http);
        var ct = http.RequestAborted;
        DateTimeOffset claimedAt;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
            var (claimed, at, saved) = await ClaimAsync(db, tenantId, principal, key, hash, ct);
            if (!claimed)
            {
                await AnswerAsync(http, key, hash, saved, protector);
                return;
            }
            claimedAt = at;
        }

        var original = http.Response.Body;
        using var buffer = new CappedCopyStream(original, MaxStoredBody);
        http.Response.Body = buffer;
        try
        {
            await next(http);
        }
        catch
        {
            http.Response.Body = original;
            await ReleaseAsync(tenantId, principal, key, claimedAt);
            throw;
        }
        http.Response.Body = original;
        var status = http.Response.StatusCode;
        var contentType = http.Response.ContentType;
        var text = contentType is null || contentType.Contains("json", StringComparison.OrdinalIgnoreCase) || contentType.StartsWith("text/", StringComparison.OrdinalIgnoreCase);
        if (status is >= 200 and < 300 && text && !buffer.Overflowed)
        {
            var body = protector.Protect(Encoding.UTF8.GetString(buffer.Copy.GetBuffer(), 0, (int)buffer.Copy.Length));
            string? location = http.Response.Headers.Location.Count > 0 ? http.Response.Headers.Location.ToString() : null;
            await using var scope = scopes.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>().IdempotencyKeys.IgnoreQueryFilters()
                .Where(k => k.TenantId == tenantId && k.Principal == principal && k.Key == key && k.CreatedAt == claimedAt)
                .ExecuteUpdateAsync(s => s.SetProperty(k => k.Status, status).SetProperty(k => k.ContentType, contentType)
                    .SetProperty(k => k.Location, location).SetProperty(k => k.Body, body), CancellationToken.None);
        }
        else
        {
            await ReleaseAsync(tenantId, principal, key, claimedAt);
        }
    }

    /// <summary>
    /// The response body as the endpoint writes it: passed straight to the real body, and copied into <see cref="Copy"/> for
    /// storing until the copy would exceed the cap; past it, the copy is dropped and <see cref="Overflowed"/> set.
    /// </summary>
    private sealed class CappedCopyStream(Stream inner, int cap) : Stream
    {
        public MemoryStream Copy { get; } = new();

        public bool Overflowed { get; private set; }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count)
        {
            inner.Write(buffer, offset, count);
            Keep(buffer.AsSpan(offset, count));
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await inner.WriteAsync(buffer, cancellationToken);
            Keep(buffer.Span);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        private void Keep(ReadOnlySpan<byte> bytes)
        {
            if (Overflowed)
            {
                return;
            }
            if (Copy.Length + bytes.Length > cap)
            {
                Overflowed = true;
                Copy.SetLength(0);
                Copy.Capacity = 0;
                return;
            }
            Copy.Write(bytes);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                Copy.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>
    /// Claims <paramref name="key"/> for this request: inserts its row, or takes over an expired or abandoned one. When
    /// another holds it, returns that row (null when it was released meanwhile: answered as in use, the client retries).
    /// </summary>
    private async Task<(bool Claimed, DateTimeOffset At, IdempotencyRecord? Saved)> ClaimAsync(
        SwitchboardDbContext db, Guid tenantId, string principal, string key, string hash, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        now = now.AddTicks(-(now.UtcTicks % 10)); // PostgreSQL keeps microseconds: the claim is later matched by equality
        db.IdempotencyKeys.Add(new IdempotencyRecord { TenantId = tenantId, Principal = principal, Key = key, RequestHash = hash, CreatedAt = now });
        try
        {
            await db.SaveChangesAsync(ct);
            return (true, now, null);
        }
        catch (DbUpdateException e) when (UniqueViolation.Is(e))
        {
            db.ChangeTracker.Clear();
        }
        var saved = await db.IdempotencyKeys.IgnoreQueryFilters().AsNoTracking()
            .FirstOrDefaultAsync(k => k.TenantId == tenantId && k.Principal == principal && k.Key == key, ct);
        if (saved is not null && (saved.CreatedAt <= now - Lifetime || (saved.Status is null && saved.CreatedAt <= now - AbandonedAfter)))
        {
            // Compare-and-set on the row as read: of two retries taking over the same row, one does.
            var taken = await db.IdempotencyKeys.IgnoreQueryFilters()
                .Where(k => k.TenantId == tenantId && k.Principal == principal && k.Key == key && k.CreatedAt == saved.CreatedAt)
                .ExecuteUpdateAsync(s => s.SetProperty(k => k.RequestHash, hash).SetProperty(k => k.CreatedAt, now)
                    .SetProperty(k => k.Status, (int?)null).SetProperty(k => k.ContentType, (string?)null)
                    .SetProperty(k => k.Location, (string?)null).SetProperty(k => k.Body, (string?)null), ct);
            return taken == 1 ? (true, now, null) : (false, now, null);
        }
        return (false, now, saved);
    }

    private static async Task AnswerAsync(HttpContext http, string key, string hash, IdempotencyRecord? saved,
        IDataProtector protector)
    {
        if (saved is not null && saved.RequestHash != hash)
        {
            await ApiError.WriteAsync(http, 400, "IDEMPOTENCY_KEY_REUSED",
                $"This {Header} was already used with a different request (method, path or body) in the last 24 hours. Use a new key for a new request.",
                new Dictionary<string, string> { [Header] = key });
            return;
        }
        if (saved?.Status is not { } status)
        {
            http.Response.Headers.RetryAfter = "1";
            await ApiError.WriteAsync(http, 409, "IDEMPOTENCY_KEY_IN_USE",
                $"A request with this {Header} is still being processed. Retry it once that request has completed.");
            return;
        }
        string body;
        try
        {
            body = saved.Body is null ? "" : protector.Unprotect(saved.Body);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            // The data-protection key ring was replaced since: the first answer is gone, and running the request again
            // could create a second resource. The client is told, and nothing runs.
            await ApiError.WriteAsync(http, 400, "IDEMPOTENCY_KEY_UNREADABLE",
                $"The first response to this {Header} can no longer be read (the server's encryption keys changed). Check whether the first request took effect, then use a new key.",
                new Dictionary<string, string> { [Header] = key });
            return;
        }
        http.Response.StatusCode = status;
        http.Response.Headers[ReplayedHeader] = "true";
        if (saved.ContentType is { } type)
        {
            http.Response.ContentType = type;
        }
        if (saved.Location is { } location)
        {
            http.Response.Headers.Location = location;
        }
        await http.Response.WriteAsync(body, http.RequestAborted);
    }

    /// <summary>Forgets this request's claim (not a later one that took the key over), whatever became of the request.</summary>
    private async Task ReleaseAsync(Guid tenantId, string principal, string key, DateTimeOffset claimedAt)
    {
        await using var scope = scopes.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>().IdempotencyKeys.IgnoreQueryFilters()
            .Where(k => k.TenantId == tenantId && k.Principal == principal && k.Key == key && k.CreatedAt == claimedAt)
            .ExecuteDeleteAsync(CancellationToken.None);
    }

    /// <summary>
    /// SHA-256 over the method, path, query string, Content-Type and body. A JSON body is already in memory
    /// (<see cref="StorableTextGuardMiddleware"/> read it) and is hashed there; any other is buffered and rewound for the
    /// endpoint. Either way it was read within the endpoint's limit (<see cref="RequestBodyLimitMiddleware"/>: past it, the
    /// read throws a 413 before the key is claimed).
    /// </summary>
    private static async Task<string> HashAsync(HttpContext http)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var request = http.Request;
        sha.AppendData(Encoding.UTF8.GetBytes($"{request.Method}\n{request.Path}{request.QueryString}\n{request.ContentType}\n"));
        if (request.Body is MemoryStream { Position: 0 } memory && memory.TryGetBuffer(out var buffered))
        {
            sha.AppendData(buffered);
            return Convert.ToHexStringLower(sha.GetHashAndReset());
        }
        request.EnableBuffering();
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, http.RequestAborted)) > 0)
            {
                sha.AppendData(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        request.Body.Position = 0;
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
