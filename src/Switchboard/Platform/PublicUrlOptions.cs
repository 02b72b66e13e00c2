namespace Switchboard.Platform;

/// <summary>
/// <c>Switchboard:PublicBaseUrl</c>: the https origin providers reach this installation at (e.g.
/// <c>https://switchboard.example.com</c>). Provider syncs point Vapi's server URL and Twilio's webhooks under it.
/// </summary>
internal sealed class PublicUrlOptions
{
    public const string Section = "Switchboard";

    public string PublicBaseUrl { get; set; } = DefaultUrl;

    /// <summary>The address <c>./switchboard</c> serves on when no other is given.</summary>
    public const string DefaultUrl = "http://localhost:8080";

    public string Url(string path) => PublicBaseUrl.TrimEnd('/') + path;

    /// <summary>
    /// Without a configured <c>Switchboard:PublicBaseUrl</c>, the links this installation writes (the widget snippet, the links
    /// in account emails, provider webhooks) point where it listens: the first of <c>urls</c> / <c>ASPNETCORE_URLS</c>, with a
    /// wildcard or loopback host written <c>localhost</c> (<c>http://0.0.0.0:18081</c> → <c>http://localhost:18081</c>). It was
    /// always <c>http://localhost:8080</c>, a dead link on any other port. A configured value is kept as it is.
    /// </summary>
    internal void DefaultToListeningUrl(IConfiguration config)
    {
        if (!string.IsNullOrWhiteSpace(config[$"{Section}:{nameof(PublicBaseUrl)}"]))
        {
            return;
        }
        var first = (config["urls"] ?? config["ASPNETCORE_URLS"])?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        if (first is null)
        {
            return;
        }
        var wildcard = first.Replace("://*", "://localhost", StringComparison.Ordinal).Replace("://+", "://localhost", StringComparison.Ordinal);
        if (Uri.TryCreate(wildcard, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Port != 0) // port 0: chosen at start
        {
            var host = uri.IsLoopback || uri.Host is "0.0.0.0" or "[::]" or "::" ? "localhost" : uri.Host;
            PublicBaseUrl = new UriBuilder(uri.Scheme, host, uri.Port).Uri.GetLeftPart(UriPartial.Authority);
        }
    }
}
