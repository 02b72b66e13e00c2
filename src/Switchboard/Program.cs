using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.Json;
using Switchboard.Alerts;
using Switchboard.Brain;
using Switchboard.Calls;
using Switchboard.Credentials;
using Switchboard.Outbox;
using Switchboard.Platform;
using Switchboard.Platform.Cli;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Tenancy;
using Switchboard.Twilio;
using Switchboard.Vapi;
using Switchboard.Webhooks;

// The same binary is the server and the operator CLI: `serve` (default), `migrate`, `seed-demo`, `replay`, `schema-script`.
var command = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "serve";
var rest = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;
if (command is not ("serve" or "migrate" or "seed-demo" or "replay" or "schema-script"))
{
    Console.Error.WriteLine($"Unknown command '{command}'. Commands: serve (default), migrate, seed-demo, replay, schema-script.");
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
builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true); // binding errors reach the envelope with their reason
builder.Services.Configure<JsonOptions>(o => o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never);
builder.Services.AddOpenApi("v1", o => o.AddDocumentTransformer<OpenApiSecurity>().AddDocumentTransformer<WebhookEventsOpenApi>());
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

// Tenancy: current tenant per request, secret API keys.
builder.Services.AddScoped<CurrentTenant>();
builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
    .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
builder.Services.AddAuthorization();

// Vapi: webhook options, credential cache, per-tenant rate limit, message processor.
builder.Services.AddOptions<VapiOptions>().BindConfiguration(VapiOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddSingleton<VapiTenantCache>();
builder.Services.AddSingleton<VapiRateLimiter>();
builder.Services.AddScoped<VapiEventProcessor>();

// Brain and alerts: the shared tool registry, the alert policy.
builder.Services.AddScoped<ToolRegistry>();
builder.Services.AddScoped<AlertService>();

// Twilio: REST client for SMS.
builder.Services.AddOptions<TwilioOptions>().BindConfiguration(TwilioOptions.Section);
builder.Services.AddHttpClient<TwilioRestClient>((sp, http) =>
    http.Timeout = TimeSpan.FromSeconds(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<TwilioOptions>>().Value.TimeoutSeconds));

// Webhooks: options, SSRF policy, the shared HTTP client, per-endpoint concurrency bound, event publisher.
builder.Services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddSingleton<WebhookUrlPolicy>();
builder.Services.AddSingleton<WebhookSender>();
builder.Services.AddSingleton<WebhookEndpointGate>();
builder.Services.AddScoped<WebhookEventPublisher>();

// Outbox: handlers, processor, worker.
builder.Services.AddOptions<OutboxOptions>().BindConfiguration(OutboxOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddScoped<IOutboxHandler, SmsSendHandler>();
builder.Services.AddScoped<IOutboxHandler, WebhookDeliveryHandler>();
builder.Services.AddSingleton<OutboxProcessor>();
builder.Services.AddHostedService<OutboxWorker>();

// Demo tenant.
builder.Services.AddScoped<DemoSeeder>();

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
            Banner.PrintDemo(seeded, null);
        }
        return 0;
    case "replay":
        return await ReplayCommand.RunAsync(app.Services, rest, CancellationToken.None);
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
}

app.UseErrorEnvelope();
app.UseCors();
app.UseAuthentication();
app.UseAuthorization();

app.MapHealth();                                                  // /healthz, /readyz
app.MapOpenApi("/openapi/{documentName}.json");                   // /openapi/v1.json
app.MapVapiWebhooks();                                            // POST /webhooks/vapi/{tenantId}
app.MapGroup("/api/v1").RequireAuthorization().MapCalls();        // calls, SMS log
app.MapGroup("/api/v1").RequireAuthorization().MapWebhooks();     // webhook endpoints, deliveries, replay, test-send

app.Lifetime.ApplicationStarted.Register(() => Banner.PrintDemo(demo, app.Urls.FirstOrDefault()));
await app.RunAsync();
return 0;

/// <summary>The host's entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
