using Switchboard.Alerts;
using Switchboard.Assistants;
using Switchboard.Billing;
using Switchboard.Brain;
using Switchboard.Calls;
using Switchboard.Compliance;
using Switchboard.Credentials;
using Switchboard.Dashboard;
using Switchboard.Email;
using Switchboard.Knowledge;
using Switchboard.Numbers;
using Switchboard.Onboarding;
using Switchboard.Outbound;
using Switchboard.Outbound.Campaigns;
using Switchboard.Outbox;
using Switchboard.Platform;
using Switchboard.Platform.Cli;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Platform.Net;
using Switchboard.Platform.Observability;
using Switchboard.Realtime;
using Switchboard.Realtime.Bridge;
using Switchboard.Templates;
using Switchboard.Tenancy;
using Switchboard.Twilio;
using Switchboard.Vapi;
using Switchboard.Webhooks;
using Switchboard.Widget;

// The same binary is the server and the operator CLI: `serve` (default), `migrate`, `seed-demo`, `replay`, `simulate-call`, `simulate-chat`, `schema-script`, `grant-operator`, `stripe-setup`, `billing-reconcile`, `simulate-stripe`.
var cli = SwitchboardCli.Parse(args);                             // System.CommandLine: --help per command; bad options exit 2 before the host is built.
if (cli.Exit(Console.Out, Console.Error) is { } exit)
{
    return exit;
}
var command = cli.Command;
SqliteNative.Configure();                                         // before any SQLite connection opens (multi-thread mode; see there)

var builder = WebApplication.CreateBuilder(cli.HostArgs);
// The content root is the working directory (data/ lives there); the shipped defaults live beside the binary.
builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Json.JsonConfigurationSource
{
    Path = "appsettings.json",
    Optional = true,
    FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(AppContext.BaseDirectory),
});
if (command == "serve" && string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
{
    builder.WebHost.UseUrls("http://localhost:8080");
}

// Services, one line per feature; each feature registers itself in its folder (<Feature>Registration.cs).
builder.AddObservability();                                       // Observability: traces, metrics, OTLP when configured, console logs.
builder.AddPlatform();                                            // Platform: time, database, errors, JSON, OpenAPI, caching, CORS of the Vapi webhook.
builder.AddCredentials();                                         // Credentials: Data Protection key ring, tenants' provider secrets (encrypted), live checks through the SSRF guard.
builder.AddTenancy();                                             // Tenancy and accounts: current tenant, API keys or sessions, users, lockout, invitations, operators.
builder.Services.AddEmail();                                      // Email: MailKit over SMTP (Switchboard__Email__*) through the outbox, or the local mailbox; password resets, verification.
builder.AddBilling();                                             // Billing: plans, feature gates, rate limits by plan, usage.
builder.AddCompliance();                                          // Compliance: audit log, export, erasure, retention.
builder.AddVapi();                                                // Vapi: webhook options, credential cache, per-tenant rate limit, message processor.
builder.AddBrainAndAlerts();                                      // Brain and alerts: tool registry, alert policy, SMS sender, post-call pipeline.
builder.AddWebChat();                                             // Web chat and knowledge base: chat brain, widget tokens, idle chats closed, ingestion and retrieval.
builder.AddWidgetVoice();                                         // Widget voice: short-lived voice socket tokens.
builder.AddTwilioSms();                                           // Twilio: REST client for SMS.
builder.AddVoice();                                               // Native voice: forwarded headers, stream tokens, realtime provider, media bridge.
builder.AddTransfers();                                           // Live transfer: transfer_call (cold <Dial>, warm conference), Vapi transfer-destination-request.
builder.AddWebhooks();                                            // Webhooks: SSRF policy, sender, per-endpoint bound, event publisher.
builder.AddProvisioning();                                        // Provisioning: assistants and numbers pushed to Vapi/Twilio through the outbox, onboarding.
builder.Services.AddAssistantTemplates();                         // The receptionist template gallery (12 trades × en/fr), read once.
builder.AddOutbound();                                            // Outbound calls: Twilio Calls API with AMD or Vapi /call, do-not-call list, calling windows.
builder.AddCampaigns();                                           // Campaigns: CSV contacts, the dialer (windows, DNC, consent, pacing, retries), progress events.
builder.AddOutbox();                                              // Outbox: handlers (SMS, recordings, webhooks), processor, worker.
builder.Services.AddScoped<DemoSeeder>();                         // Demo tenant.
builder.Services.AddDashboard();                                  // Dashboard: live events (hub, LISTEN/NOTIFY fan-out), recordings proxy.

var app = builder.Build();

if (command != "serve")
{
    return await cli.RunAsync(app, CancellationToken.None);       // migrate, seed-demo, replay, simulate-*, schema-script, grant-operator, stripe-setup, billing-reconcile
}

// serve
var db = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<DatabaseOptions>>().Value;
if (db.MigrateOnStartup)
{
    await app.Services.GetRequiredService<Migrator>().MigrateAsync(CancellationToken.None);
}
DemoCredentials? demo = null;
if (app.Configuration.GetValue("Switchboard:Demo:SeedOnEmptyDatabase", false))
{
    await using var scope = app.Services.CreateAsyncScope();
    var seeder = scope.ServiceProvider.GetRequiredService<DemoSeeder>();
    demo = await seeder.DatabaseIsEmptyAsync(CancellationToken.None) ? await seeder.SeedAsync(CancellationToken.None) : seeder.ReadSaved();
    demo = await seeder.EnsureWidgetKeyAsync(demo, CancellationToken.None);
}

app.UseForwardedHeaders();
app.UseErrorEnvelope();
app.UseMiddleware<HeadRequestsMiddleware>();                       // HEAD answered wherever GET is (headers only): before routing
app.UseRouting();                                                 // explicit, so the HEAD → GET rewrite above is what routing matches
app.UseMiddleware<RequestBodyLimitMiddleware>();                  // /api/v1: bodies up to 1 MiB unless the endpoint says more (413 PAYLOAD_TOO_LARGE), before anything reads one
app.UseWebSockets();
app.UseMiddleware<WidgetAccessMiddleware>();                      // /widget/v1: publishable key, allowed origin (CORS), plan, per-client and per-origin rate limits
app.UseCors();
app.UseAuthentication();
app.UseMiddleware<ApiGuardMiddleware>();                           // /api/v1: CSRF, suspension, API-access gate, rate limits
app.UseAuthorization();
app.UseMiddleware<StorableTextGuardMiddleware>();                  // /api/v1: text that cannot be stored (U+0000, lone surrogates) is a 422, a field the route does not take a 400, before any endpoint
app.UseMiddleware<IdempotencyMiddleware>();                        // /api/v1 POST with Idempotency-Key: a retry gets the first success replayed (Stripe's rules, 24 h)
app.UseDashboard();                                               // web/dist at / with SPA fallback and CSP (never under /api, /webhooks…)

app.MapHealth();                                                  // /healthz, /readyz
app.MapMetrics();                                                 // /metrics: Prometheus text, operator or scrape token (or its own port)
app.MapOpenApi("/openapi/{documentName}.json");                   // /openapi/v1.json
app.MapApiReference();                                            // /docs: the rendered API reference (self-contained)
app.MapVapiWebhooks();                                            // POST /webhooks/vapi/{tenantId}
app.MapTwilioWebhooks();                                          // POST /webhooks/twilio/{voice|status|recording|sms}/{tenantId}
app.MapOutboundTwilioWebhooks();                                  // POST /webhooks/twilio/outbound/{tenantId}/{callId}/{answer|amd|status}
app.MapStripeWebhooks();                                          // POST /webhooks/stripe: signed Stripe events (subscriptions, invoices, checkout)
app.MapTwilioMediaStreams();                                      // WebSocket /media/twilio/{token}, GET /metrics/voice
app.MapWidget();                                                  // /widget/v1: config, conversations, messages (SSE)
app.MapWidgetVoice();                                             // /widget/v1/voice: start a voice conversation, the media WebSocket
app.MapWidgetScript();                                            // /widget.js, /widget/demo (Development)
app.MapGroup("/api/v1").RequireAuthorization().MapCalls();        // calls (filters, search, keyset, CSV export), SMS log
app.MapGroup("/api/v1").RequireAuthorization().MapAnalytics();    // analytics per local day, computed in the database
app.MapGroup("/api/v1").RequireAuthorization().MapWebhooks();     // webhook endpoints, deliveries, replay, test-send
app.MapGroup("/api/v1").RequireAuthorization().MapDashboard();    // live events (SSE), leads workflow, recordings proxy

app.MapGroup("/api/v1/auth").MapAccounts();                       // signup, login, logout, session, switch tenant, invitations, password reset, email verification
app.MapGroup("/api/v1/operator").RequireAuthorization(SessionAuthentication.OperatorPolicy).MapOperator(); // all tenants
app.MapGroup("/api/v1/operator/billing").RequireAuthorization(SessionAuthentication.OperatorPolicy).MapBillingOperator(); // billing drift, reconcile now
app.MapEmail();                                                   // /api/v1/operator/mailbox: account emails (operators)
app.MapGroup("/api/v1").RequireAuthorization()                    // self-service, per-endpoint permissions
    .MapTeam()                                                    // members, invitations
    .MapOnboarding()                                              // the nine-step wizard, studio configuration
    .MapCredentials()                                             // Vapi, Twilio, OpenAI-compatible credentials
    .MapAssistants()                                              // assistants, pushed to Vapi
    .MapAssistantTemplates()                                      // receptionist templates per trade, en/fr
    .MapNumbers()                                                 // Twilio numbers (webhooks or Vapi import)
    .MapBilling()                                                 // plans, plan changes, usage against the plan
    .MapKeys()                                                    // secret/publishable keys, rotation, widget origins
    .MapWidgetSettings()                                          // the widget's branding
    .MapKnowledge()                                               // knowledge base: documents, chunks, search
    .MapCompliance()                                              // audit log + verify, export, erasure, retention
    .MapOutbound()                                                // outbound calls, refusals, do-not-call list
    .MapCampaigns()                                               // campaigns: create from CSV, schedule, pause/resume/cancel, contacts, progress (SSE)
    .MapAlertSettings();                                          // the business's SMS alert policy (Settings → Alerts)

app.Lifetime.ApplicationStarted.Register(() => Banner.PrintDemo(demo, app.Urls.FirstOrDefault(), app.Environment));
await app.RunAsync();
return 0;

/// <summary>The host's entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
