using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Switchboard.Billing;
using Switchboard.Compliance;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Tenancy;

namespace Switchboard.Widget;

/// <summary>
/// The widget's look: <c>AccentColor</c> <c>#rrggbb</c>, <c>Position</c> <c>end</c>|<c>start</c>, <c>Title</c> (≤ 100), <c>Greeting</c> (≤ 500),
/// <c>AvatarUrl</c> (https, ≤ 500). Colour and avatar need <c>custom_branding</c>. Every field is required in a <c>PUT</c> (null clears
/// it): a missing one is a 422 <c>VALIDATION_FAILED</c>, not a silent reset.
/// </summary>
public sealed record WidgetSettingsDto(
    [property: JsonRequired] string? AccentColor, [property: JsonRequired] string? Position, [property: JsonRequired] string? Title,
    [property: JsonRequired] string? Greeting, [property: JsonRequired] string? AvatarUrl);

/// <summary>
/// What the dashboard needs to print the install snippet: <c>ScriptUrl</c> (<c>{PublicBaseUrl}/widget.js</c>), the newest
/// active publishable key whose value is kept (<c>PublishableKey</c>, <c>pk_live_…</c>; null when there is none: create
/// one with <c>POST /api/v1/keys</c> <c>{"kind":"publishable"}</c>) and the allowed origins.
/// </summary>
public sealed record WidgetInstallDto(string ScriptUrl, string? PublishableKey, IReadOnlyList<string> AllowedOrigins);

/// <summary>
/// A web chat's attribution and state, by its call id: the origin and page it started on, the referrer, UTM parameters,
/// Google/Meta click ids, its language, who answered last (<c>model</c> or <c>offline</c>) and its message count.
/// </summary>
public sealed record WebConversationDto(
    Guid Id, Guid CallId, string Origin, string? PageUrl, string? Referrer, string? UtmSource, string? UtmMedium, string? UtmCampaign,
    string? UtmTerm, string? UtmContent, string? Gclid, string? Fbclid, string Language, string Brain, int MessageCount,
    DateTimeOffset CreatedAt, DateTimeOffset LastMessageAt, DateTimeOffset? EndedAt);

/// <summary>
/// <c>GET/PUT /api/v1/widget/settings</c>: the widget's branding, read by <c>GET /widget/v1/config</c>;
/// <c>GET /api/v1/widget/install</c>: the script URL, publishable key and origins for the install snippet; and
/// <c>GET /api/v1/widget/conversations/{callId}</c>: a web chat's attribution.
/// </summary>
internal static partial class WidgetSettingsApi
{
    public static RouteGroupBuilder MapWidgetSettings(this RouteGroupBuilder api)
    {
        var widget = api.MapGroup("/widget").WithTags("Widget");
        widget.MapGet("/settings", GetAsync).RequirePermission(Permission.Read).WithSummary("The widget's branding");
        widget.MapPut("/settings", PutAsync).RequirePermission(Permission.Configure).RequireFeature(Features.Widget)
            .WithSummary("Replace the widget's branding").ProducesErrors(400, 422);
        widget.MapGet("/install", InstallAsync).RequirePermission(Permission.Read)
            .WithSummary("The install snippet's script URL, publishable key (null when none is kept) and allowed origins");
        widget.MapGet("/conversations/{callId:guid}", ConversationAsync).RequirePermission(Permission.Read)
            .WithSummary("A web chat's attribution (page, referrer, UTM, click ids) by its call id").ProducesErrors(404);
        return api;
    }

    private static async Task<Results<Ok<WebConversationDto>, JsonHttpResult<ErrorEnvelope>>> ConversationAsync(Guid callId, SwitchboardDbContext db, CancellationToken ct)
    {
        var c = await db.WebConversations.AsNoTracking().FirstOrDefaultAsync(x => x.CallId == callId, ct);
        return c is null
            ? ApiError.NotFound("CONVERSATION_NOT_FOUND", "No web chat with this call id.")
            : TypedResults.Ok(new WebConversationDto(c.Id, c.CallId, c.Origin, c.PageUrl, c.Referrer, c.UtmSource, c.UtmMedium, c.UtmCampaign,
                c.UtmTerm, c.UtmContent, c.Gclid, c.Fbclid, c.Language, c.Brain, c.MessageCount, c.CreatedAt, c.LastMessageAt, c.EndedAt));
    }

    private static async Task<Ok<WidgetInstallDto>> InstallAsync(
        SwitchboardDbContext db, Microsoft.Extensions.Options.IOptions<Platform.PublicUrlOptions> publicUrl, TimeProvider clock, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        // Newest first; a key in its rotation grace period still works but its replacement is the one to paste.
        var keys = await db.ApiKeys.AsNoTracking()
            .Where(k => k.Kind == ApiKeyKinds.Publishable && k.PublishableKey != null && k.RevokedAt == null)
            .Select(k => new { k.PublishableKey, k.CreatedAt, k.ExpiresAt }).ToListAsync(ct);
        var key = keys.Where(k => k.ExpiresAt == null || k.ExpiresAt > now).OrderBy(k => k.ExpiresAt != null).ThenByDescending(k => k.CreatedAt)
            .Select(k => k.PublishableKey).FirstOrDefault();
        var origins = await db.TenantAccounts.AsNoTracking().Select(a => a.AllowedOrigins).FirstOrDefaultAsync(ct) ?? [];
        return TypedResults.Ok(new WidgetInstallDto(publicUrl.Value.Url("/widget.js"), key, origins));
    }

    private static async Task<Ok<WidgetSettingsDto>> GetAsync(SwitchboardDbContext db, CancellationToken ct)
    {
        var s = await db.WidgetSettings.AsNoTracking().FirstOrDefaultAsync(ct);
        return TypedResults.Ok(new WidgetSettingsDto(s?.AccentColor, s?.Position ?? "end", s?.Title, s?.Greeting, s?.AvatarUrl));
    }

    private static async Task<Results<Ok<WidgetSettingsDto>, JsonHttpResult<ErrorEnvelope>>> PutAsync(
        WidgetSettingsDto body, HttpContext http, SwitchboardDbContext db, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        var v = new Validation().Name("title", body.Title, 100).Text("greeting", body.Greeting, 500).Max("avatarUrl", body.AvatarUrl, 500);
        if (body.AccentColor is not null && !Colour().IsMatch(body.AccentColor))
        {
            v.Add("accentColor", "#rrggbb");
        }
        if (body.Position is not (null or "end" or "start"))
        {
            v.Add("position", "end or start");
        }
        if (body.AvatarUrl is not null && (!Uri.TryCreate(body.AvatarUrl, UriKind.Absolute, out var avatar) || avatar.Scheme != "https"))
        {
            v.Add("avatarUrl", "an https URL");
        }
        if (!v.IsValid)
        {
            return v.Result();
        }
        var caller = Caller.From(http);
        // The row is created on the first PUT: concurrent first PUTs both insert it, and the loser runs again on the
        // winner's row (UniqueViolation.RetryOnceAsync) rather than answering 409.
        var row = await UniqueViolation.RetryOnceAsync(db, async () =>
        {
            var row = await db.WidgetSettings.FirstOrDefaultAsync(ct);
            if (row is null)
            {
                row = new WidgetSettings { TenantId = caller.TenantId!.Value };
                db.WidgetSettings.Add(row);
            }
            row.AccentColor = body.AccentColor?.ToLowerInvariant();
            row.Position = body.Position ?? "end";
            row.Title = string.IsNullOrWhiteSpace(body.Title) ? null : body.Title.Trim();
            row.Greeting = string.IsNullOrWhiteSpace(body.Greeting) ? null : body.Greeting.Trim();
            row.AvatarUrl = body.AvatarUrl;
            row.UpdatedAt = clock.GetUtcNow();
            await db.SaveChangesAsync(ct);
            return row;
        });
        await audit.AppendAsync(caller.TenantId, caller.Actor, "widget.settings_updated", null, null, ct);
        return TypedResults.Ok(new WidgetSettingsDto(row.AccentColor, row.Position, row.Title, row.Greeting, row.AvatarUrl));
    }

    [GeneratedRegex("^#[0-9a-fA-F]{6}$")]
    private static partial Regex Colour();
}
