using System.ComponentModel.DataAnnotations;

namespace Switchboard.Widget;

/// <summary>Configuration section <c>Switchboard:Widget</c>: limits of the public widget endpoints.</summary>
internal sealed class WidgetOptions
{
    public const string Section = "Switchboard:Widget";

    /// <summary>Longest visitor message, in characters (413 <c>MESSAGE_TOO_LONG</c> beyond).</summary>
    [Range(1, 20000)]
    public int MaxMessageChars { get; set; } = 2000;

    /// <summary>Most visitor messages in one conversation (429 <c>CONVERSATION_LIMIT</c> beyond).</summary>
    [Range(1, 10000)]
    public int MaxMessagesPerConversation { get; set; } = 60;

    /// <summary>Requests per minute from one allowed origin of one tenant: the window every visitor of the site shares.</summary>
    [Range(1, 1000000)]
    public int RequestsPerMinutePerOrigin { get; set; } = 600;

    /// <summary>
    /// Requests per minute from one client address to one tenant's widget, whatever the Origin it sends (anyone can forge
    /// one outside a browser): checked before <see cref="RequestsPerMinutePerOrigin"/>, and kept well below it, so one client
    /// cannot use up the window of every visitor of the site. The address is <c>HttpContext.Connection.RemoteIpAddress</c>:
    /// behind a reverse proxy, configure <c>Switchboard:ForwardedHeaders</c> (ForwardedHeadersSetup) so it is the
    /// visitor's, not the proxy's, or every visitor shares one window.
    /// </summary>
    [Range(1, 1000000)]
    public int RequestsPerMinutePerClient { get; set; } = 60;

    /// <summary>Requests per minute from one visitor (client address and visitor id).</summary>
    [Range(1, 1000000)]
    public int RequestsPerMinutePerVisitor { get; set; } = 30;

    /// <summary>A conversation with no message for this long is closed and goes through the post-call pipeline, in minutes.</summary>
    [Range(1, 1440)]
    public int IdleMinutes { get; set; } = 30;

    /// <summary>Visitor messages included per month, by plan id (the chat quota; 429 <c>CHAT_QUOTA_EXCEEDED</c> beyond).</summary>
    public Dictionary<string, int> MonthlyMessagesByPlan { get; set; } = new()
    {
        ["free"] = 300, ["starter"] = 3000, ["pro"] = 20000, ["telephony"] = 50000,
    };

    /// <summary>
    /// Allow <c>http://localhost</c> and <c>http://127.0.0.1</c> origins (any port) in <c>PUT /api/v1/widget/origins</c>;
    /// on in Development so a developer can try the widget on a local site.
    /// </summary>
    public bool AllowLocalHttpOrigins { get; set; }

    /// <summary>Where the built widget lives (<c>Switchboard:Web:WidgetPath</c> overrides): the folder of <c>widget.js</c>.</summary>
    public string? DistPath { get; set; }

    /// <summary>Close idle conversations once a minute (tests drive <see cref="WebConversationCloser"/> directly).</summary>
    public bool CloserEnabled { get; set; } = true;

    /// <summary>Serve <c>/widget/demo</c>, a test page that embeds the widget with the demo tenant's key (Development).</summary>
    public bool DemoPage { get; set; }
}
