namespace Switchboard.Platform;

/// <summary>
/// What <c>./switchboard</c> prints for a newcomer. The demo tenant's webhook secret and API key (and the commands that
/// use them) are printed only in the Development environment; elsewhere the banner says where they are kept
/// (<c>data/demo-credentials.json</c>, mode 600), so no secret reaches a production log.
/// </summary>
internal static class Banner
{
    public static void PrintDemo(DemoCredentials? demo, string? url, IHostEnvironment environment) =>
        WriteDemo(Console.Out, demo, url, environment.IsDevelopment());

    /// <summary>Writes the banner to <paramref name="output"/>; <paramref name="development"/> allows the secrets.</summary>
    internal static void WriteDemo(TextWriter output, DemoCredentials? demo, string? url, bool development)
    {
        var baseUrl = (url ?? "http://localhost:8080").Replace("127.0.0.1", "localhost");
        output.WriteLine();
        output.WriteLine($"Switchboard is running on {baseUrl}");
        if (demo is null)
        {
            output.WriteLine("  (no demo tenant credentials on record: run `./switchboard seed-demo` on an empty database)");
            return;
        }
        output.WriteLine($"  Dashboard         {baseUrl}/");
        output.WriteLine($"  Demo tenant       {demo.TenantName}  id {demo.TenantId}");
        output.WriteLine($"  Vapi webhook URL  {baseUrl}/webhooks/vapi/{demo.TenantId}");
        if (!development)
        {
            output.WriteLine("  Its dashboard login, webhook secret and API key are in data/demo-credentials.json (not printed outside Development).");
            output.WriteLine();
            return;
        }
        if (demo.DashboardEmail is not null)
        {
            output.WriteLine($"  Dashboard login   {demo.DashboardEmail}  password {demo.DashboardPassword}");
        }
        output.WriteLine($"  Webhook secret    {demo.VapiWebhookSecret}   (x-vapi-secret, or HMAC key for x-vapi-signature)");
        output.WriteLine($"  Secret API key    {demo.ApiKey}");
        // Account email (verification, password reset, invitations) is not printed or logged: its links carry tokens.
        output.WriteLine($"  Account email     without SMTP, read at {baseUrl}/operator/mailbox   (./switchboard grant-operator you@example.com)");
        output.WriteLine();
        output.WriteLine("  Replay a real Vapi end-of-call report, then read the call back:");
        var urlOption = baseUrl == "http://localhost:8080" ? "" : $" --url {baseUrl}";
        output.WriteLine($"    ./switchboard replay --tenant {demo.TenantId}{urlOption} --fresh-ids ../shared/fixtures/vapi/end-of-call-report.2024-07.json");
        output.WriteLine($"    curl -s -H 'Authorization: Bearer {demo.ApiKey}' {baseUrl}/api/v1/calls");
        output.WriteLine($"    curl -s -H 'Authorization: Bearer {demo.ApiKey}' {baseUrl}/api/v1/sms");
        output.WriteLine();
        output.WriteLine("  Place a simulated phone call (Twilio and the realtime model simulated on 127.0.0.1):");
        output.WriteLine($"    ./switchboard simulate-call --tenant {demo.TenantId} --script samples/flood-call.json{urlOption}");
        output.WriteLine();
        if (demo.PublishableKey is { } pk)
        {
            output.WriteLine("  Web chat widget (offline receptionist: no model key needed). Paste on a site whose origin is allowed");
            output.WriteLine("  (PUT /api/v1/widget/origins; in Development http://localhost:<port> and http://127.0.0.1:<port> may be allowed):");
            output.WriteLine($"    <script src=\"{baseUrl}/widget.js\" data-key=\"{pk}\" async></script>");
            output.WriteLine($"  Try it now: {baseUrl}/widget/demo   (write « Mon sous-sol est inondé, rappelez-moi au 514 555 0142 »)");
            output.WriteLine($"    ./switchboard simulate-chat --key {pk}{(baseUrl == "http://localhost:8080" ? "" : " --url " + baseUrl)} --script samples/flood-chat.json");
            output.WriteLine();
        }
    }
}
