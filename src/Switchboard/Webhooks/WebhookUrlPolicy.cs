using Microsoft.Extensions.Options;
using Switchboard.Platform.Net;

namespace Switchboard.Webhooks;

/// <summary>
/// Where tenant webhooks may go (DESIGN.md "Security"; shared/protocols/standard-webhooks.md §3 "SSRF protection"):
/// <see cref="OutboundPolicy"/> with the webhook switches: https only and public addresses only, unless
/// <see cref="WebhookOptions.AllowInsecureUrls"/>/<see cref="WebhookOptions.AllowPrivateNetworks"/> (default: on only in
/// Development). The same rule runs when an endpoint is saved (<see cref="ValidateAsync"/>) and inside the HTTP
/// client's connect callback (<see cref="ConnectCallback"/>).
/// </summary>
internal sealed class WebhookUrlPolicy(IOptions<WebhookOptions> options, IHostEnvironment environment)
{
    /// <summary>Longest accepted URL, in characters.</summary>
    public const int MaxUrlLength = 2048;

    public bool AllowInsecureUrls => options.Value.AllowInsecureUrls ?? environment.IsDevelopment();

    public bool AllowPrivateNetworks => options.Value.AllowPrivateNetworks ?? environment.IsDevelopment();

    /// <summary>Checks a URL an endpoint is saved with; returns the parsed URL or why it is refused.</summary>
    public Task<(Uri? Url, UrlRefusal? Refusal)> ValidateAsync(string? url, CancellationToken ct) =>
        OutboundPolicy.ValidateUrlAsync(url, new OutboundUrlRules(AllowPrivateNetworks, AllowInsecureUrls, MaxLength: MaxUrlLength), ct);

    /// <summary>The connect callback for the webhook client (<see cref="OutboundPolicy.ConnectCallback"/>).</summary>
    public Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> ConnectCallback => OutboundPolicy.ConnectCallback(() => AllowPrivateNetworks);
}
