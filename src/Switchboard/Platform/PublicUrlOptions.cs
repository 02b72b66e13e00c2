namespace Switchboard.Platform;

/// <summary>
/// <c>Switchboard:PublicBaseUrl</c>: the https origin providers reach this installation at (e.g.
/// <c>https://switchboard.example.com</c>). Provider syncs point Vapi's server URL and Twilio's webhooks under it.
/// </summary>
internal sealed class PublicUrlOptions
{
    public const string Section = "Switchboard";

    public string PublicBaseUrl { get; set; } = "http://localhost:8080";

    public string Url(string path) => PublicBaseUrl.TrimEnd('/') + path;
}
