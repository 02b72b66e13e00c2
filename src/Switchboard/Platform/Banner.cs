namespace Switchboard.Platform;

/// <summary>What <c>./switchboard</c> prints for a newcomer.</summary>
internal static class Banner
{
    public static void PrintDemo(DemoCredentials? demo, string? url)
    {
        var baseUrl = (url ?? "http://localhost:8080").Replace("127.0.0.1", "localhost");
        Console.WriteLine();
        Console.WriteLine($"Switchboard is running on {baseUrl}");
        if (demo is null)
        {
            Console.WriteLine("  (no demo tenant credentials on record: run `./switchboard seed-demo` on an empty database)");
            return;
        }
        Console.WriteLine($"  Demo tenant       {demo.TenantName}  id {demo.TenantId}");
        Console.WriteLine($"  Vapi webhook URL  {baseUrl}/webhooks/vapi/{demo.TenantId}");
        Console.WriteLine($"  Webhook secret    {demo.VapiWebhookSecret}   (x-vapi-secret, or HMAC key for x-vapi-signature)");
        Console.WriteLine($"  Secret API key    {demo.ApiKey}");
        Console.WriteLine();
        Console.WriteLine("  Replay a real Vapi end-of-call report, then read the call back:");
        var urlOption = baseUrl == "http://localhost:8080" ? "" : $" --url {baseUrl}";
        Console.WriteLine($"    ./switchboard replay --tenant {demo.TenantId}{urlOption} --fresh-ids ../shared/fixtures/vapi/end-of-call-report.2024-07.json");
        Console.WriteLine($"    curl -s -H 'Authorization: Bearer {demo.ApiKey}' {baseUrl}/api/v1/calls");
        Console.WriteLine($"    curl -s -H 'Authorization: Bearer {demo.ApiKey}' {baseUrl}/api/v1/sms");
        Console.WriteLine();
        Console.WriteLine("  Place a simulated phone call (Twilio and the realtime model simulated on 127.0.0.1):");
        Console.WriteLine($"    ./switchboard simulate-call --tenant {demo.TenantId} --script samples/flood-call.json{(baseUrl == "http://localhost:8080" ? "" : " --url " + baseUrl)}");
        Console.WriteLine();
        if (demo.PublishableKey is { } pk)
        {
            Console.WriteLine("  Web chat widget (offline receptionist: no model key needed). Paste on a site whose origin is allowed");
            Console.WriteLine("  (PUT /api/v1/widget/origins; in Development http://localhost:<port> and http://127.0.0.1:<port> may be allowed):");
            Console.WriteLine($"    <script src=\"{baseUrl}/widget.js\" data-key=\"{pk}\" async></script>");
            Console.WriteLine($"  Try it now: {baseUrl}/widget/demo   (write « Mon sous-sol est inondé, rappelez-moi au 514 555 0142 »)");
            Console.WriteLine($"    ./switchboard simulate-chat --key {pk}{(baseUrl == "http://localhost:8080" ? "" : " --url " + baseUrl)} --script samples/flood-chat.json");
            Console.WriteLine();
        }
    }
}
