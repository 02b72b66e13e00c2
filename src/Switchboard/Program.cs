using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
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
using Switchboard.Outbox;
using Switchboard.Platform;
using Switchboard.Platform.Cli;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Platform.Net;
using Switchboard.Realtime;
using Switchboard.Realtime.Bridge;
using Switchboard.Tenancy;
using Switchboard.Twilio;
using Switchboard.Vapi;
using Switchboard.Webhooks;
using Switchboard.Widget;

// The same binary is the server and the operator CLI: `serve` (default), `migrate`, `seed-demo`, `replay`, `simulate-call`, `simulate-chat`, `schema-script`, `grant-operator`.
var command = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "serve";
var rest = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;
if (command is not ("serve" or "migrate" or "seed-demo" or "replay" or "simulate-call" or "simulate-chat" or "schema-script" or "grant-operator"))
{
    Console.Error.WriteLine($"Unknown command '{command}'. Commands: serve (default), migrate, seed-demo, replay, simulate-call, simulate-chat, schema-script, grant-operator.");
    return 2;
}

var builder = WebApplication.CreateBuilder(command == "serve" ? rest : []);
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

// Logs: structured JSON with scopes (TenantId, CallId); secrets are never logged.
builder.Logging.ClearProviders();
builder.Logging.AddJsonConsole(o =>
{
    o.IncludeScopes = true;
    o.UseUtcTimestamp = true;
    o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' ";
});

// Platform: time, database, errors, JSON, OpenAPI, caching.
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSwitchboardDatabase();
builder.Services.AddExceptionHandler<EnvelopeExceptionHandler>();
builder.WebHost.ConfigureKestrel(o => o.ConfigureEndpointDefaults(l => l.UseRejectedRequestEnvelope())); // Kestrel's own 400s (%00 in a path) carry the envelope too
builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true); // binding errors reach the envelope with their reason
builder.Services.Configure<JsonOptions>(o =>
{
    o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never;
    o.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict; // numbers are JSON numbers (and typed so in OpenAPI)
    o.SerializerOptions.MaxDepth = 256; // a call's raw provider events (accepted up to 128 deep) are written back inside the detail
});
builder.Services.Configure<JsonOptions>(o => FiniteDoubleConverter.AddTo(o.SerializerOptions)); // NaN/±∞ already stored reads as null, never a 500
builder.Services.AddOpenApi("v1", o => o.AddDocumentTransformer<OpenApiSecurity>().AddDocumentTransformer<WebhookEventsOpenApi>());
builder.Services.Configure<Microsoft.AspNetCore.OpenApi.OpenApiOptions>("v1", o => o  // session scheme; auth, 401/403/429/500 and CSRF on every operation
    .AddDocumentTransformer<OpenApiConventions>().AddOperationTransformer<OpenApiConventions>()
    .AddOperationTransformer<CallsOpenApi>()   // the call list's enumerated filters
    .AddSchemaTransformer(FiniteDoubleSchema.TransformAsync)); // doubles stay typed numbers despite FiniteDoubleConverter
builder.Services.AddMemoryCache();
builder.Services.AddCors(o => o.AddPolicy(VapiWebhookApi.CorsPolicy, p => p
    .WithOrigins(builder.Configuration.GetSection($"{VapiOptions.Section}:AllowedOrigins").Get<string[]>() ?? new VapiOptions().AllowedOrigins)
    .WithMethods("POST").WithHeaders("content-type", "x-vapi-secret", "x-vapi-signature", "x-signature", "x-timestamp", "authorization")));

// Credentials: Data Protection key ring under data/keys (share this folder, or point it elsewhere, across nodes).
builder.Services.AddDataProtection()
    .SetApplicationName("switchboard")
    .PersistKeysToFileSystem(new DirectoryInfo(builder.Configuration["Switchboard:DataProtection:KeysPath"]
        ?? Path.Combine(builder.Environment.ContentRootPath, "data", "keys")));
builder.Services.AddSingleton<SecretProtector>();

// Credentials: tenants' provider secrets (encrypted, previews only), live checks against configurable base URLs.
builder.Services.AddOptions<CredentialOptions>().BindConfiguration(CredentialOptions.Section)
    .PostConfigure(o => o.AllowPrivateBaseUrls |= builder.Environment.IsDevelopment());
builder.Services.AddScoped<CredentialStore>();
builder.Services.AddScoped<CredentialChecker>();
builder.Services.AddHttpClient(CredentialChecker.HttpClientName)  // tenant-supplied hosts: SSRF policy at connect time, no redirects
    .ConfigurePrimaryHttpMessageHandler(sp => OutboundPolicy.CreateHandler(
        () => sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<CredentialOptions>>().Value.AllowPrivateBaseUrls, TimeSpan.FromSeconds(10)));
builder.Services.AddOptions<PublicUrlOptions>().BindConfiguration(PublicUrlOptions.Section);

// Tenancy: current tenant per request; secret API keys or dashboard sessions (cookie), picked per request by a policy scheme.
builder.Services.AddScoped<CurrentTenant>();
builder.Services.AddAuthentication(SessionAuthentication.PolicyScheme)
    .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
    .AddCookie(SessionAuthentication.CookieScheme, o => SessionAuthentication.ConfigureCookie(o, builder.Environment.IsDevelopment()))
    .AddPolicyScheme(SessionAuthentication.PolicyScheme, null, o => o.ForwardDefaultSelector = SessionAuthentication.SelectScheme);
builder.Services.AddAuthorization(SessionAuthentication.AddPolicies);

// Accounts: users (Identity's password hasher), sessions, lockout, invitations, operators; authorization failures as envelopes.
builder.Services.AddOptions<AccountOptions>().BindConfiguration(AccountOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddSingleton<IPasswordHasher<User>, PasswordHasher<User>>();
builder.Services.AddScoped<AccountService>();
builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, EnvelopeAuthorizationResultHandler>();

// Email: MailKit over SMTP (Switchboard__Email__*) through the outbox, or the local mailbox; password resets, verification.
builder.Services.AddEmail();

// Billing: plans and feature gates, the per-tenant account cache, /api/v1 rate limits by plan.
builder.Services.AddOptions<BillingOptions>().BindConfiguration(BillingOptions.Section);
builder.Services.AddSingleton<PlanCatalog>();
builder.Services.AddSingleton<TenantAccountCache>();
builder.Services.AddSingleton<ApiRateLimiter>();
builder.Services.AddScoped<UsageMeter>();
builder.Services.AddScoped<CallConcurrencyGate>();

// Compliance: the append-only, hash-chained audit log.
builder.Services.AddSingleton<AuditLog>();
builder.Services.ConfigureDbContext<SwitchboardDbContext>(o => o.AddInterceptors(new AppendOnlyAuditInterceptor()));

// Compliance: export, erasure (caller, tenant), retention worker.
builder.Services.AddScoped<ExportWriter>();
builder.Services.AddScoped<ErasureService>();
builder.Services.AddSingleton<TenantCaches>();
builder.Services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section);
builder.Services.AddScoped<RetentionService>();
builder.Services.AddHostedService<RetentionWorker>();

// Vapi: webhook options, credential cache, per-tenant rate limit, message processor.
builder.Services.AddOptions<VapiOptions>().BindConfiguration(VapiOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddSingleton<VapiTenantCache>();
builder.Services.AddSingleton<VapiRateLimiter>();
builder.Services.AddScoped<VapiEventProcessor>();

// Brain and alerts: the shared tool registry, the alert policy, the post-call pipeline (Vapi and native calls).
builder.Services.AddScoped<ToolRegistry>();
builder.Services.AddScoped<AlertService>();
builder.Services.AddScoped<SmsSenderResolver>(); // one rule for every SMS sender: explicit sender, else an attached SMS-capable number
builder.Services.AddScoped<PostCallPipeline>();

// Web chat: the brain (chat model over Microsoft.Extensions.AI, offline receptionist), the widget's public endpoints, idle chats closed.
builder.Services.AddOptions<BrainOptions>().BindConfiguration(BrainOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<WidgetOptions>().BindConfiguration(WidgetOptions.Section).ValidateDataAnnotations().ValidateOnStart()
    .PostConfigure(o => { o.AllowLocalHttpOrigins |= builder.Environment.IsDevelopment(); o.DemoPage |= builder.Environment.IsDevelopment(); });
builder.Services.AddHttpClient(ModelBrain.HttpClientName);
builder.Services.AddSingleton<ModelBrain>();
builder.Services.AddSingleton<WidgetTokens>();
builder.Services.AddSingleton<WebConversationCloser>();
builder.Services.AddHostedService<WebConversationCloserWorker>();
builder.Services.AddScoped<WebChatService>();
builder.Services.AddScoped<IKnowledgeLookup, KnowledgeBaseLookup>();     // retrieval for the offline receptionist
// Knowledge base: ingestion (text, Markdown, HTML, PDF, URL through the SSRF guard), FTS retrieval, optional embeddings.
builder.Services.AddKnowledge();

// Twilio: REST client for SMS.
builder.Services.AddOptions<TwilioOptions>().BindConfiguration(TwilioOptions.Section);
builder.Services.AddHttpClient<TwilioRestClient>((sp, http) =>
    http.Timeout = TimeSpan.FromSeconds(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<TwilioOptions>>().Value.TimeoutSeconds));

// Native voice: Twilio webhooks behind proxies, media-stream tokens, recordings, the realtime provider and the media bridge.
builder.Services.AddSwitchboardForwardedHeaders(builder.Configuration);
builder.Services.AddOptions<VoiceOptions>().BindConfiguration(VoiceOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<RealtimeOptions>().BindConfiguration(RealtimeOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddSingleton<TwilioWebhookUrls>();
builder.Services.AddSingleton<MediaStreamTokens>();
builder.Services.AddHttpClient<TwilioCallsClient>((sp, http) =>
    http.Timeout = TimeSpan.FromSeconds(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<TwilioOptions>>().Value.TimeoutSeconds));
builder.Services.AddSingleton<RealtimeConnector>();
builder.Services.AddSingleton<VoiceMetrics>();
builder.Services.AddSingleton<VoiceCallStore>();
builder.Services.AddSingleton<BridgeRegistry>();
builder.Services.AddSingleton<BridgeServices>();
builder.Services.AddSingleton<TranscriptSink>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<TranscriptSink>());
builder.Services.AddHostedService<BridgeTicker>();

// Webhooks: options, SSRF policy, the shared HTTP client, per-endpoint concurrency bound, event publisher.
builder.Services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddSingleton<WebhookUrlPolicy>();
builder.Services.AddSingleton<WebhookSender>();
builder.Services.AddSingleton<WebhookEndpointGate>();
builder.Services.AddScoped<WebhookEventPublisher>();

// Provisioning: Vapi REST client, Twilio IncomingPhoneNumbers client; assistants and numbers pushed through the outbox.
builder.Services.AddHttpClient<VapiRestClient>((sp, http) => http.Timeout = TimeSpan.FromSeconds(30));
builder.Services.AddHttpClient<TwilioNumbersClient>((sp, http) =>
    http.Timeout = TimeSpan.FromSeconds(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<TwilioOptions>>().Value.TimeoutSeconds));
builder.Services.AddScoped<AssistantService>();
builder.Services.AddScoped<NumberService>();
builder.Services.AddScoped<OnboardingService>();
builder.Services.AddScoped<IOutboxHandler, VapiAssistantSyncHandler>();
builder.Services.AddScoped<IOutboxHandler, NumberSyncHandler>();

// Outbox: handlers, processor, worker.
builder.Services.AddOptions<OutboxOptions>().BindConfiguration(OutboxOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddScoped<IOutboxHandler, SmsSendHandler>();
builder.Services.AddScoped<IOutboxHandler, TwilioRecordingStartHandler>();
builder.Services.AddScoped<IOutboxHandler, WebhookDeliveryHandler>();
builder.Services.AddSingleton<OutboxProcessor>();
builder.Services.AddHostedService<OutboxWorker>();

// Demo tenant.
builder.Services.AddScoped<DemoSeeder>();

// Dashboard: live events (hub, PostgreSQL LISTEN/NOTIFY fan-out, change-tracker interceptor), recordings proxy client.
builder.Services.AddDashboard();

var app = builder.Build();

switch (command)
{
    case "migrate":
        var applied = await app.Services.GetRequiredService<Migrator>().MigrateAsync(CancellationToken.None);
        Console.WriteLine(applied.Count == 0 ? "Database is up to date." : $"Applied: {string.Join(", ", applied)}");
        return 0;
    case "seed-demo":
        await app.Services.GetRequiredService<Migrator>().MigrateAsync(CancellationToken.None);
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var seeded = await scope.ServiceProvider.GetRequiredService<DemoSeeder>().SeedAsync(CancellationToken.None);
            Banner.PrintDemo(seeded, null, app.Environment);
        }
        return 0;
    case "replay":
        return await ReplayCommand.RunAsync(app.Services, rest, CancellationToken.None);
    case "simulate-call":
        return await SimulateCallCommand.RunAsync(app.Services, rest, CancellationToken.None);
    case "simulate-chat":
        return await SimulateChatCommand.RunAsync(rest, CancellationToken.None);
    case "grant-operator":
        return await GrantOperatorCommand.RunAsync(app.Services, rest, CancellationToken.None);
    case "schema-script":
        // Prints the DDL the EF model implies for the configured provider: the starting point of a hand-written migration.
        await using (var scope = app.Services.CreateAsyncScope())
        {
            Console.WriteLine(Microsoft.EntityFrameworkCore.RelationalDatabaseFacadeExtensions.GenerateCreateScript(
                scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>().Database));
        }
        return 0;
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
app.UseWebSockets();
app.UseMiddleware<WidgetAccessMiddleware>();                      // /widget/v1: publishable key, allowed origin (CORS), plan, per-origin rate limit
app.UseCors();
app.UseAuthentication();
app.UseMiddleware<ApiGuardMiddleware>();                           // /api/v1: CSRF, suspension, API-access gate, rate limits
app.UseAuthorization();
app.UseDashboard();                                               // web/dist at / with SPA fallback and CSP (never under /api, /webhooks…)

app.MapHealth();                                                  // /healthz, /readyz
app.MapOpenApi("/openapi/{documentName}.json");                   // /openapi/v1.json
app.MapApiReference();                                            // /docs: the rendered API reference (self-contained)
app.MapVapiWebhooks();                                            // POST /webhooks/vapi/{tenantId}
app.MapTwilioWebhooks();                                          // POST /webhooks/twilio/{voice|status|recording|sms}/{tenantId}
app.MapTwilioMediaStreams();                                      // WebSocket /media/twilio/{token}, GET /metrics/voice
app.MapWidget();                                                  // /widget/v1: config, conversations, messages (SSE)
app.MapWidgetScript();                                            // /widget.js, /widget/demo (Development)
app.MapGroup("/api/v1").RequireAuthorization().MapCalls();        // calls (filters, search, keyset, CSV export), SMS log
app.MapGroup("/api/v1").RequireAuthorization().MapAnalytics();    // analytics per local day, computed in the database
app.MapGroup("/api/v1").RequireAuthorization().MapWebhooks();     // webhook endpoints, deliveries, replay, test-send
app.MapGroup("/api/v1").RequireAuthorization().MapDashboard();    // live events (SSE), leads workflow, recordings proxy

app.MapGroup("/api/v1/auth").MapAccounts();                       // signup, login, logout, session, switch tenant, invitations, password reset, email verification
app.MapGroup("/api/v1/operator").RequireAuthorization(SessionAuthentication.OperatorPolicy).MapOperator(); // all tenants
app.MapEmail();                                                   // /api/v1/operator/mailbox: account emails (operators)
app.MapGroup("/api/v1").RequireAuthorization()                    // self-service, per-endpoint permissions
    .MapTeam()                                                    // members, invitations
    .MapOnboarding()                                              // the nine-step wizard, studio configuration
    .MapCredentials()                                             // Vapi, Twilio, OpenAI-compatible credentials
    .MapAssistants()                                              // assistants, pushed to Vapi
    .MapNumbers()                                                 // Twilio numbers (webhooks or Vapi import)
    .MapBilling()                                                 // plans, plan changes, usage against the plan
    .MapKeys()                                                    // secret/publishable keys, rotation, widget origins
    .MapWidgetSettings()                                          // the widget's branding
    .MapKnowledge()                                               // knowledge base: documents, chunks, search
    .MapCompliance();                                             // audit log + verify, export, erasure, retention

app.Lifetime.ApplicationStarted.Register(() => Banner.PrintDemo(demo, app.Urls.FirstOrDefault(), app.Environment));
await app.RunAsync();
return 0;

/// <summary>The host's entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
