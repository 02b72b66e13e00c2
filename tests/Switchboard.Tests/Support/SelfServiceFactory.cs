using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Switchboard.Tests.Support;

/// <summary>
/// The host with self-service wired to simulators on 127.0.0.1 (Vapi REST, Twilio numbers), an operator email,
/// a public base URL, every log line captured at Trace level (<see cref="Logs"/>), and helpers for cookie sessions.
/// </summary>
public class SelfServiceFactory : SwitchboardFactory
{
    public const string OperatorEmail = "ops@switchboard.test";
    public const string PublicBaseUrl = "https://switchboard.example.test";

    private readonly Lazy<VapiSimulator> vapi = new(() => VapiSimulator.StartAsync().GetAwaiter().GetResult());
    private readonly Lazy<TwilioNumbersSimulator> twilio = new(() => TwilioNumbersSimulator.StartAsync().GetAwaiter().GetResult());

    internal VapiSimulator Vapi => vapi.Value;
    internal TwilioNumbersSimulator Twilio => twilio.Value;
    /// <summary>Every log record of the host (Microsoft.Extensions.Diagnostics.Testing), with its structured state and scopes.</summary>
    internal FakeLogCollector Logs { get; } = new();

    /// <summary>
    /// The records as text to scan: level, category, message, structured state (<c>key=value;…</c>), scopes and exception,
    /// so a secret that reached a log by any of those routes is found.
    /// </summary>
    internal IReadOnlyList<string> LogLines => Logs.GetSnapshot().Select(r =>
        $"{r.Level} {r.Category}: {r.Message} {string.Join(";", (r.StructuredState ?? []).Select(p => $"{p.Key}={p.Value}"))}" +
        $"{string.Concat(r.Scopes.Select(scope => " => " + scope))} {r.Exception}").ToList();

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Switchboard:PublicBaseUrl"] = PublicBaseUrl,
        ["Switchboard:Vapi:ApiBaseUrl"] = Vapi.BaseUrl,
        ["Switchboard:Twilio:ApiBaseUrl"] = Twilio.BaseUrl,
        ["Switchboard:Credentials:AllowPrivateBaseUrls"] = "true",
        ["Switchboard:Webhooks:AllowInsecureUrls"] = "true",
        ["Switchboard:Webhooks:AllowPrivateNetworks"] = "true",
        ["Switchboard:Retention:WorkerEnabled"] = "false",
        ["Logging:LogLevel:Default"] = "Trace",
        // Generous limits: tests share one client address and sign up many users; PlanLimitTests lowers them.
        ["Switchboard:Accounts:AuthRequestsPerMinutePerIp"] = "100000",
        ["Switchboard:Billing:Plans:free:RequestsPerMinute"] = "100000",
        ["Switchboard:Billing:Plans:free:RequestsPerMinutePerKey"] = "100000",
        ["Switchboard:Billing:Plans:pro:RequestsPerMinute"] = "100000",
        ["Switchboard:Billing:Plans:pro:RequestsPerMinutePerKey"] = "100000",
    }.Concat(MoreSettings).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value);

    /// <summary>Settings a subclass adds.</summary>
    protected virtual IDictionary<string, string?> MoreSettings => new Dictionary<string, string?>();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureLogging(logging =>
        {
            // Every line, at Trace level, goes to the capture only (not to the console).
            logging.ClearProviders();
            logging.SetMinimumLevel(LogLevel.Trace);
            logging.AddProvider(new FakeLoggerProvider(Logs));
        });
    }

    /// <summary>A client that keeps cookies, over https (so Secure cookies are sent back), without redirects.</summary>
    internal HttpClient CookieClient() =>
        CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://localhost"), HandleCookies = true, AllowAutoRedirect = false });

    /// <summary>Signs up a new organisation; the returned client carries the session cookie and the CSRF header.</summary>
    internal async Task<SignedIn> SignUpAsync(string? email = null, string organisation = "Plomberie Test", string password = "correct horse battery")
    {
        email ??= $"owner-{Guid.NewGuid():N}@example.test";
        var client = CookieClient();
        var response = await client.PostAsJsonAsync("/api/v1/auth/signup", new { email, password, organisation, fullName = "Test Owner" });
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"signup: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var session = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var csrf = session["csrfToken"]!.GetValue<string>();
        client.DefaultRequestHeaders.Add("X-CSRF-Token", csrf);
        return new SignedIn(client, Guid.Parse(session["tenant"]!["id"]!.GetValue<string>()), Guid.Parse(session["user"]!["id"]!.GetValue<string>()), email, password, csrf);
    }

    /// <summary>Signs in an existing user.</summary>
    internal async Task<SignedIn> LoginAsync(string email, string password, Guid? tenantId = null)
    {
        var client = CookieClient();
        var response = await client.PostAsJsonAsync("/api/v1/auth/login", new { email, password, tenantId });
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"login: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var session = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var csrf = session["csrfToken"]!.GetValue<string>();
        client.DefaultRequestHeaders.Add("X-CSRF-Token", csrf);
        var tenant = session["tenant"]?["id"]?.GetValue<string>();
        return new SignedIn(client, tenant is null ? Guid.Empty : Guid.Parse(tenant), Guid.Parse(session["user"]!["id"]!.GetValue<string>()), email, password, csrf);
    }

    /// <summary>Sets a tenant's plan through the operator API.</summary>
    internal async Task SetPlanAsync(Guid tenantId, string planId)
    {
        var ops = await OperatorAsync();
        var response = await ops.Client.PatchAsJsonAsync($"/api/v1/operator/tenants/{tenantId}", new { planId });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private SignedIn? operatorSession;

    /// <summary>The operator's session: signed up once per factory, then granted with the CLI command <c>grant-operator</c>.</summary>
    internal async Task<SignedIn> OperatorAsync()
    {
        if (operatorSession is null)
        {
            await SignUpAsync(OperatorEmail, "Operators Inc");
            Assert.Equal(0, await Switchboard.Platform.Cli.GrantOperatorCommand.RunAsync(Services, OperatorEmail, revoke: false, CancellationToken.None));
            operatorSession = await LoginAsync(OperatorEmail, "correct horse battery");
        }
        return operatorSession;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            if (vapi.IsValueCreated) { vapi.Value.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
            if (twilio.IsValueCreated) { twilio.Value.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
        }
    }
}

/// <summary>A signed-in browser: its client (cookies + CSRF header), tenant, user and credentials.</summary>
internal sealed record SignedIn(HttpClient Client, Guid TenantId, Guid UserId, string Email, string Password, string Csrf);

/// <summary>Small JSON helpers for tests.</summary>
internal static class Http
{
    public static async Task<JsonObject> JsonAsync(this HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: expected {(int)expected}, got {(int)response.StatusCode} {text}");
        return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text)!.AsObject();
    }

    public static async Task<string> ErrorCodeAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonNode.Parse(text)?["error"]?["code"]?.GetValue<string>() ?? "(no envelope: " + text + ")";
    }

    public static AuthenticationHeaderValue Bearer(string key) => new("Bearer", key);
}

/// <summary>
/// Invitation tokens as only the invitee can read them: from the email sent to them (the API never returns a token to the
/// inviter, probe E F3).
/// </summary>
internal static class InvitationMail
{
    /// <summary>Invites <paramref name="email"/> with <paramref name="role"/> through <paramref name="inviter"/>; returns the mailed token.</summary>
    public static async Task<string> InviteAsync(this SwitchboardFactory factory, HttpClient inviter, string email, string role)
    {
        await (await inviter.PostAsJsonAsync("/api/v1/team/invitations", new { email, role })).JsonAsync(HttpStatusCode.Created);
        return await factory.InvitationTokenAsync(email);
    }

    /// <summary>The token of the latest invitation mailed to <paramref name="email"/> (read from the stored email, before delivery).</summary>
    public static Task<string> InvitationTokenAsync(this SwitchboardFactory factory, string email) => factory.WithDbAsync(null, async db =>
    {
        var mails = await db.EmailMessages.IgnoreQueryFilters().AsNoTracking()
            .Where(e => e.To == email && e.Purpose == Switchboard.Email.EmailPurpose.Invitation).ToListAsync();
        var body = mails.OrderBy(e => e.CreatedAt).ThenBy(e => e.Id).Last().TextBody;
        return Uri.UnescapeDataString(System.Text.RegularExpressions.Regex.Match(body, @"/invitations/accept\?token=(\S+)").Groups[1].Value);
    });
}
