using System.Buffers;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Switchboard.Compliance;
using Switchboard.Credentials;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Tenancy;

namespace Switchboard.Billing;

/// <summary>Answer to Stripe for an accepted event: whether it was new and what was done.</summary>
public sealed record StripeWebhookAck(bool Received, bool Duplicate, string Outcome);

/// <summary>
/// <c>POST /webhooks/stripe</c>: one platform endpoint (Stripe talks to the platform account, not a tenant). The raw body is
/// verified against <c>Stripe-Signature</c> (<see cref="StripeSignature"/>; 300 s tolerance) before anything is parsed;
/// each event is stored once by its id in the same transaction as its effect (<see cref="StripeEventApplier"/>), so a
/// redelivery answers 200 <c>duplicate</c> and changes nothing. Thin events (v2 event destinations, <c>created</c> as
/// ISO 8601) are accepted on the same route: the meter error reports (<see cref="MeterErrorReports"/>). A signed event's
/// text that cannot be read or stored (a lone surrogate escape, invalid UTF-8, U+0000) is replaced by U+FFFD
/// (<see cref="TolerantJson"/>), and a field of the wrong JSON type is read as absent, so a well-signed event is answered
/// 2xx or 4xx, never a 500 that Stripe would retry for three days (stripe-billing.md §6.2). Errors: 404
/// <c>STRIPE_NOT_CONFIGURED</c>, 400 <c>INVALID_SIGNATURE</c> / <c>STALE_SIGNATURE</c> / <c>MALFORMED_EVENT</c> (also an
/// <c>id</c> or <c>type</c> that is not usable text), 413, 503 <c>STRIPE_UNAVAILABLE</c> (a thin event's full form could
/// not be fetched, Stripe answered an error or could not be reached; nothing stored, Stripe redelivers).
/// </summary>
internal static class StripeWebhookApi
{
    private const int MaxBodyBytes = 512 * 1024;
    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 64 };

    public static IEndpointRouteBuilder MapStripeWebhooks(this IEndpointRouteBuilder app)
    {
        app.MapPost("/webhooks/stripe", HandleAsync)
            .WithTags("Webhooks")
            .WithSummary("Stripe events (subscriptions, invoices, checkout)")
            .WithDescription("Verified with Stripe-Signature (HMAC-SHA256, 300 s tolerance); each event id is applied once, in the order of its object's state.")
            .Accepts<JsonElement>("application/json")
            .Produces<StripeWebhookAck>(StatusCodes.Status200OK)
            .Produces<ErrorEnvelope>(StatusCodes.Status400BadRequest)
            .Produces<ErrorEnvelope>(StatusCodes.Status404NotFound)
            .Produces<ErrorEnvelope>(StatusCodes.Status413PayloadTooLarge)
            .Produces<ErrorEnvelope>(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<IResult> HandleAsync(
        HttpContext http, StripeGateway stripe, SwitchboardDbContext db, SecretProtector secrets, StripeEventApplier applier, TenantAccountCache accounts,
        AuditLog audit, TimeProvider clock, ILogger<StripeEventApplier> logger, CancellationToken ct)
    {
        if (!stripe.Enabled || await stripe.WebhookSecretAsync(db, secrets, ct) is not { } secret)
        {
            return ApiError.NotFound("STRIPE_NOT_CONFIGURED", "Stripe billing is not configured on this installation.");
        }
        if (http.Request.ContentLength > MaxBodyBytes || await ReadBodyAsync(http.Request, ct) is not { } body)
        {
            return ApiError.TooLarge($"The body exceeds {MaxBodyBytes} bytes.");
        }
        var verdict = StripeSignature.Verify(http.Request.Headers["Stripe-Signature"].ToString(), body, secret, clock.GetUtcNow(),
            TimeSpan.FromSeconds(stripe.Options.WebhookToleranceSeconds));
        if (verdict != StripeSignatureResult.Valid && !string.IsNullOrWhiteSpace(stripe.Options.EventDestinationSecret))
        {
            // The event destination of thin events (meter error reports) signs with its own secret.
            var asDestination = StripeSignature.Verify(http.Request.Headers["Stripe-Signature"].ToString(), body, stripe.Options.EventDestinationSecret,
                clock.GetUtcNow(), TimeSpan.FromSeconds(stripe.Options.WebhookToleranceSeconds));
            verdict = asDestination == StripeSignatureResult.Valid ? asDestination : verdict;
        }
        switch (verdict)
        {
            case StripeSignatureResult.Stale:
                return ApiError.BadRequest("STALE_SIGNATURE", $"The Stripe-Signature timestamp is more than {stripe.Options.WebhookToleranceSeconds} s away.");
            case not StripeSignatureResult.Valid:
                logger.LogWarning("Stripe webhook refused: signature {Verdict}", verdict);
                return ApiError.BadRequest("INVALID_SIGNATURE", "The Stripe-Signature header is missing or does not match the body.");
        }

        JsonDocument document;
        List<string> unusable;
        try
        {
            document = JsonDocument.Parse(body, JsonOptions);
            // A lone surrogate escape, invalid UTF-8 or U+0000 in a string made GetString throw, or the write fail on PostgreSQL
            // (a 500, and Stripe retrying for days): such text is replaced by U+FFFD before anything reads the event.
            if (TolerantJson.Sanitize(body, JsonOptions.MaxDepth, out unusable) is { } usable)
            {
                document.Dispose();
                document = JsonDocument.Parse(usable, JsonOptions);
            }
        }
        catch (JsonException)
        {
            return ApiError.BadRequest("MALFORMED_EVENT", "The body is not JSON.");
        }
        using (document)
        {
            var ev = document.RootElement;
            // A number or object where a string belongs made GetString throw (a 500, and Stripe retrying for days): checked first.
            if (ev.ValueKind != JsonValueKind.Object || unusable.Contains("$.id") || unusable.Contains("$.type")
                || !ev.TryGetProperty("id", out var idProp) || idProp.ValueKind != JsonValueKind.String
                || idProp.GetString() is not { Length: > 0 and <= 255 } id
                || !ev.TryGetProperty("type", out var typeProp) || typeProp.ValueKind != JsonValueKind.String
                || typeProp.GetString() is not { Length: > 0 and <= 100 } type)
            {
                return ApiError.BadRequest("MALFORMED_EVENT", "An event needs an id and a type.");
            }
            if (await db.StripeEvents.AsNoTracking().AnyAsync(e => e.Id == id, ct))
            {
                return TypedResults.Ok(new StripeWebhookAck(true, true, "duplicate"));
            }
            StripeEventOutcome outcome;
            try
            {
                outcome = await applier.ApplyAsync(ev, ct);
            }
            catch (Stripe.StripeException e)
            {
                // Applying needed Stripe (a thin event's full form) and Stripe did not answer: not stored, so Stripe delivers it again.
                logger.LogWarning(e, "Stripe event {EventId} {Type} could not be applied now: Stripe answered {Status}", id, type, (int)e.HttpStatusCode);
                return ApiError.Create(503, "STRIPE_UNAVAILABLE", "Stripe could not be read to apply this event; deliver it again later.");
            }
            catch (HttpRequestException e)
            {
                // Stripe could not be reached at all (Stripe.net throws the connection failure as it is, not as a StripeException).
                logger.LogWarning(e, "Stripe event {EventId} {Type} could not be applied now: Stripe could not be reached ({Error})", id, type, e.HttpRequestError);
                return ApiError.Create(503, "STRIPE_UNAVAILABLE", "Stripe could not be read to apply this event; deliver it again later.");
            }
            db.StripeEvents.Add(new StripeEventRecord
            {
                Id = id,
                Type = type,
                Created = StripeEventApplier.CreatedOf(ev) ?? DateTimeOffset.UnixEpoch,
                TenantId = outcome.TenantId,
                ObjectId = outcome.ObjectId is { Length: <= 255 } o ? o : null,
                Outcome = outcome.Outcome.Length <= 200 ? outcome.Outcome : outcome.Outcome[..200],
                ReceivedAt = clock.GetUtcNow(),
            });
            try
            {
                await db.SaveChangesAsync(ct);
            }
            catch (DbUpdateException e) when (UniqueViolation.Is(e))
            {
                // The same event delivered concurrently: the other request applied it.
                return TypedResults.Ok(new StripeWebhookAck(true, true, "duplicate"));
            }
            if (outcome.TenantId is { } tenantId)
            {
                accounts.Invalidate(tenantId);
                if (outcome.AuditDetails is not null)
                {
                    await audit.AppendAsync(tenantId, new AuditActor("stripe", id, null), "billing." + type, outcome.ObjectId, outcome.AuditDetails, ct);
                }
            }
            foreach (var (tenant, action, details) in outcome.MoreAudit)
            {
                if ((tenant ?? outcome.TenantId) is { } auditTenant)
                {
                    await audit.AppendAsync(auditTenant, new AuditActor("stripe", id, null), action, outcome.ObjectId, details, ct);
                }
            }
            logger.LogInformation("Stripe event {EventId} {Type}: {Outcome}", id, type, outcome.Outcome);
            return TypedResults.Ok(new StripeWebhookAck(true, false, outcome.Outcome));
        }
    }

    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        while (true)
        {
            var read = await request.Body.ReadAsync(buffer.GetMemory(16 * 1024), ct);
            if (read == 0)
            {
                return buffer.WrittenSpan.ToArray();
            }
            buffer.Advance(read);
            if (buffer.WrittenCount > MaxBodyBytes)
            {
                return null;
            }
        }
    }
}
