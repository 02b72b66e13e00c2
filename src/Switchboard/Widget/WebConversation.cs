namespace Switchboard.Widget;

/// <summary>
/// A web chat started from the widget: the visitor's side of a <see cref="Calls.Call"/> of channel <c>web</c>
/// (provider <c>widget</c>, <c>ProviderCallId</c> = this id). Holds the attribution read from the page that opened it
/// and the offline receptionist's slots, so a conversation resumes after a page navigation.
/// </summary>
internal sealed class WebConversation
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }

    /// <summary>The conversation's call (transcript turns, lead, SMS, webhooks, usage, erasure all hang off it).</summary>
    public Guid CallId { get; set; }

    /// <summary>Random id the widget keeps per browser tab (sessionStorage); the per-visitor rate limit's key.</summary>
    public required string VisitorId { get; set; }

    /// <summary>The allowed origin that started the chat, e.g. <c>https://www.example.com</c>.</summary>
    public required string Origin { get; set; }

    public string? PageUrl { get; set; }
    public string? Referrer { get; set; }
    public string? UtmSource { get; set; }
    public string? UtmMedium { get; set; }
    public string? UtmCampaign { get; set; }
    public string? UtmTerm { get; set; }
    public string? UtmContent { get; set; }

    /// <summary>Google Ads click id from the page URL.</summary>
    public string? Gclid { get; set; }

    /// <summary>Meta click id from the page URL.</summary>
    public string? Fbclid { get; set; }

    /// <summary>Two-letter language the widget showed (<c>fr</c>, <c>en</c>…).</summary>
    public required string Language { get; set; }

    /// <summary>Who answered the last message: <c>model</c> or <c>offline</c>.</summary>
    public string Brain { get; set; } = "offline";

    /// <summary>The offline receptionist's state (stage and filled slots) as JSON.</summary>
    public string? StateJson { get; set; }

    /// <summary>Visitor messages so far (the per-conversation cap counts them).</summary>
    public int MessageCount { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset LastMessageAt { get; set; }

    /// <summary>When the conversation was closed (idle for 30 minutes) and went through the post-call pipeline.</summary>
    public DateTimeOffset? EndedAt { get; set; }
}

/// <summary>The widget's look per tenant (one row, optional): accent colour, corner, title, greeting, avatar.</summary>
internal sealed class WidgetSettings
{
    public Guid TenantId { get; set; }

    /// <summary><c>#rrggbb</c>; needs the plan's <c>custom_branding</c>.</summary>
    public string? AccentColor { get; set; }

    /// <summary><c>end</c> (bottom inline-end corner, default) or <c>start</c>.</summary>
    public string Position { get; set; } = "end";

    public string? Title { get; set; }

    /// <summary>First message shown to the visitor; the built-in greeting in the visitor's language when null.</summary>
    public string? Greeting { get; set; }

    /// <summary>https URL of an avatar image; needs <c>custom_branding</c>.</summary>
    public string? AvatarUrl { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
