using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Outbound;
using Switchboard.Tests.Support;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Outbound;

/// <summary>
/// Transfer configuration through the assistants API (validation in the error envelope, tenant isolation), and Vapi's
/// <c>transfer-destination-request</c> answered from it (and <c>transfer-update</c> recorded on the call).
/// </summary>
[Trait("Category", "Database")]
public sealed class TransferConfigTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    private async Task<(TestTenant Tenant, Guid AssistantId)> TenantAsync()
    {
        var tenant = await factory.CreateTenantAsync();
        var id = await factory.WithDbAsync(tenant.Id, db => db.Assistants.Select(a => a.Id).SingleAsync());
        return (tenant, id);
    }

    [Fact]
    public async Task TransferIsOffByDefaultAndDestinationsAreStoredInE164WithTheirHours()
    {
        var (tenant, id) = await TenantAsync();
        var client = factory.ApiClient(tenant);
        var paul = (await client.GetFromJsonAsync<JsonObject>($"/api/v1/assistants/{id}"))!;
        Assert.False(paul["transfer"]!["enabled"]!.GetValue<bool>());
        Assert.Empty(paul["transfer"]!["destinations"]!.AsArray());

        var changed = await (await client.PatchAsJsonAsync($"/api/v1/assistants/{id}", new
        {
            transfer = new
            {
                enabled = true,
                destinations = new object[]
                {
                    new { name = "Bureau", number = "(514) 555-0100", hours = new { weekly = new Dictionary<string, string[]> { ["monday"] = ["08:00-17:00"] } } },
                    new { name = "Plombier de garde", number = "+1 514 555 0142", description = "Urgences 24/7" },
                },
            },
        })).JsonAsync(HttpStatusCode.OK);

        Assert.True(changed["transfer"]!["enabled"]!.GetValue<bool>());
        var destinations = changed["transfer"]!["destinations"]!.AsArray();
        Assert.Equal(["+15145550100", "+15145550142"], destinations.Select(d => d!["number"]!.GetValue<string>()));
        Assert.Equal("08:00-17:00", destinations[0]!["hours"]!["weekly"]!["monday"]![0]!.GetValue<string>());
        Assert.Null(destinations[1]!["hours"]);
        var stored = await factory.WithDbAsync(tenant.Id, db => db.Assistants.SingleAsync(a => a.Id == id));
        Assert.True(stored.OffersTransfer);

        // Turning it off keeps the destinations.
        var off = await (await client.PatchAsJsonAsync($"/api/v1/assistants/{id}", new { transfer = new { enabled = false } })).JsonAsync(HttpStatusCode.OK);
        Assert.False(off["transfer"]!["enabled"]!.GetValue<bool>());
        Assert.Equal(2, off["transfer"]!["destinations"]!.AsArray().Count);
    }

    [Fact]
    public async Task BadTransferSettingsAreRefusedFieldByFieldInTheEnvelope()
    {
        var (tenant, id) = await TenantAsync();
        var client = factory.ApiClient(tenant);

        var response = await client.PatchAsJsonAsync($"/api/v1/assistants/{id}", new
        {
            transfer = new
            {
                enabled = true,
                destinations = new object[]
                {
                    new { name = "Bureau", number = "12" },
                    new { name = "bureau", number = "+15145550142" },
                    new { name = "", number = "+15145550143", hours = new { weekly = new Dictionary<string, string[]> { ["funday"] = ["25:00-26:00"] } } },
                    new { name = "Nuit", number = "+15145550144", hours = new { weekly = new Dictionary<string, string?[]> { ["monday"] = [null] } } },
                },
            },
        });
        var error = (await response.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!;
        Assert.Equal("VALIDATION_FAILED", error["code"]!.GetValue<string>());
        var details = error["details"]!.AsObject();
        Assert.Contains("transfer.destinations[0].number", details.Select(d => d.Key));
        Assert.Contains("transfer.destinations[1].name", details.Select(d => d.Key));
        Assert.Contains("transfer.destinations[2].name", details.Select(d => d.Key));
        Assert.Contains("transfer.destinations[2].hours", details.Select(d => d.Key));
        Assert.Contains("null", details["transfer.destinations[3].hours"]!.ToJsonString()); // a null range: refused, not a 500

        // Enabling with nowhere to transfer to is refused too; malformed JSON is a 400, never a 500.
        var empty = await client.PatchAsJsonAsync($"/api/v1/assistants/{id}", new { transfer = new { enabled = true, destinations = Array.Empty<object>() } });
        Assert.Contains("transfer.destinations", (await empty.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!["details"]!.AsObject().Select(d => d.Key));
        var malformed = await client.PatchAsync($"/api/v1/assistants/{id}", new StringContent("{\"transfer\":{\"enabled\":\"maybe\"}}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.False((await factory.WithDbAsync(tenant.Id, db => db.Assistants.SingleAsync(a => a.Id == id))).TransferEnabled);
    }

    [Fact]
    public async Task AnotherTenantCannotReadOrChangeAnAssistantsTransferSettings()
    {
        var (a, id) = await TenantAsync();
        var (b, _) = await TenantAsync();
        var client = factory.ApiClient(b);

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/v1/assistants/{id}")).StatusCode);
        var patch = await client.PatchAsJsonAsync($"/api/v1/assistants/{id}", new { transfer = new { enabled = true, destinations = new[] { new { name = "Pirate", number = "+15145550199" } } } });
        Assert.Equal("ASSISTANT_NOT_FOUND", (await patch.JsonAsync(HttpStatusCode.NotFound))["error"]!["code"]!.GetValue<string>());
        var untouched = await factory.WithDbAsync(a.Id, db => db.Assistants.SingleAsync(x => x.Id == id));
        Assert.False(untouched.TransferEnabled);
        Assert.Null(untouched.TransferDestinations);
    }

    private static string DestinationRequest(string callId, string? destination) => new JsonObject
    {
        ["message"] = new JsonObject
        {
            ["type"] = "transfer-destination-request",
            ["timestamp"] = 1763478000000,
            ["call"] = new JsonObject { ["id"] = callId, ["type"] = "inboundPhoneCall", ["status"] = "in-progress" },
            ["customer"] = new JsonObject { ["number"] = "+15145550123" },
            ["artifact"] = new JsonObject
            {
                ["messages"] = destination is null ? new JsonArray() : new JsonArray(new JsonObject
                {
                    ["role"] = "tool_calls",
                    ["toolCalls"] = new JsonArray(new JsonObject
                    {
                        ["id"] = "call_1",
                        ["type"] = "function",
                        ["function"] = new JsonObject { ["name"] = "transferCall", ["arguments"] = $"{{\"destination\":\"{destination}\"}}" },
                    }),
                }),
            },
        },
    }.ToJsonString();

    [Theory]
    [InlineData("he", "אני מעביר אתכם אל Bureau", "איני יכול להעביר")]
    [InlineData("ar", "سأحوّلك إلى Bureau", "لا يمكنني تحويل")]
    public async Task VapisTransferAnswersAreSaidInTheTenantsLanguage(string language, string transferring, string refused)
    {
        var (tenant, id) = await TenantAsync();
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            (await db.Tenants.SingleAsync(t => t.Id == tenant.Id)).Locale = language;
            var paul = await db.Assistants.SingleAsync(x => x.Id == id);
            paul.TransferEnabled = true;
            paul.TransferDestinations = [new TransferDestination { Name = "Bureau", Number = "+15145550100" }];
            return await db.SaveChangesAsync();
        });

        var answer = JsonNode.Parse(await (await factory.PostVapiAsync(tenant, DestinationRequest($"vapi-xfer-{language}-1", "Bureau"))).Content.ReadAsStringAsync())!;
        var unknown = JsonNode.Parse(await (await factory.PostVapiAsync(tenant, DestinationRequest($"vapi-xfer-{language}-2", "Nobody"))).Content.ReadAsStringAsync())!;

        Assert.StartsWith(transferring, answer["message"]!["content"]!.GetValue<string>());
        Assert.StartsWith(transferring, answer["destination"]!["message"]!.GetValue<string>());
        Assert.StartsWith(refused, unknown["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task VapisTransferDestinationRequestIsAnsweredFromTheConfigurationAndRefusedWhenTransferIsOff()
    {
        var (tenant, id) = await TenantAsync();

        // Paul: transfer off.
        var refused = JsonNode.Parse(await (await factory.PostVapiAsync(tenant, DestinationRequest("vapi-xfer-1", "Bureau"))).Content.ReadAsStringAsync())!;
        Assert.NotNull(refused["error"]);
        Assert.Null(refused["destination"]);

        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var paul = await db.Assistants.SingleAsync(x => x.Id == id);
            paul.TransferEnabled = true;
            paul.TransferDestinations =
            [
                new TransferDestination { Name = "Bureau", Number = "+15145550100" },
                new TransferDestination { Name = "Plombier de garde", Number = "+15145550142" },
            ];
            db.WebhookEndpoints.Add(new WebhookEndpoint
            {
                Id = Guid.NewGuid(),
                TenantId = tenant.Id,
                Url = "https://hooks.example/transfer",
                SecretProtected = "x",
                Enabled = true,
                CreatedAt = factory.Clock.GetUtcNow(),
                UpdatedAt = factory.Clock.GetUtcNow(),
            });
            return await db.SaveChangesAsync();
        });

        var answer = JsonNode.Parse(await (await factory.PostVapiAsync(tenant, DestinationRequest("vapi-xfer-2", "Plombier de garde"))).Content.ReadAsStringAsync())!;
        Assert.Equal(("number", "+15145550142"), (answer["destination"]!["type"]!.GetValue<string>(), answer["destination"]!["number"]!.GetValue<string>()));
        Assert.Equal("request-start", answer["message"]!["type"]!.GetValue<string>());
        Assert.Contains("Plombier de garde", answer["message"]!["content"]!.GetValue<string>());

        // Vapi then reports the transfer: it is recorded on the call and sent as call.transferred.
        var update = new JsonObject
        {
            ["message"] = new JsonObject
            {
                ["type"] = "transfer-update",
                ["timestamp"] = 1763478001000,
                ["call"] = new JsonObject { ["id"] = "vapi-xfer-2", ["type"] = "inboundPhoneCall" },
                ["destination"] = new JsonObject { ["type"] = "number", ["number"] = "+15145550142", ["transferPlan"] = new JsonObject { ["mode"] = "warm-transfer-say-summary" } },
            },
        }.ToJsonString();
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, update)).StatusCode);
        var callId = await factory.WithDbAsync(tenant.Id, db => db.Calls.Where(c => c.ProviderCallId == "vapi-xfer-2").Select(c => c.Id).SingleAsync());
        var detail = (await factory.ApiClient(tenant).GetFromJsonAsync<JsonObject>($"/api/v1/calls/{callId}"))!;
        var transfer = Assert.Single(detail["transfers"]!.AsArray())!;
        Assert.Equal(("vapi", "warm", "Plombier de garde", "transferred"), (transfer["provider"]!.GetValue<string>(), transfer["mode"]!.GetValue<string>(),
            transfer["destination"]!.GetValue<string>(), transfer["outcome"]!.GetValue<string>()));
        Assert.Contains(detail["webhookEvents"]!.AsArray(), e => e!["type"]!.GetValue<string>() == WebhookEventTypes.CallTransferred);
    }

    [Fact]
    public async Task AVapiDestinationOutsideItsHoursIsRefused()
    {
        var (tenant, id) = await TenantAsync();
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var paul = await db.Assistants.SingleAsync(x => x.Id == id);
            paul.TransferEnabled = true;
            // Sundays only; the factory's clock is a Wednesday.
            paul.TransferDestinations = [new TransferDestination { Name = "Bureau", Number = "+15145550100", Hours = new() { Weekly = new() { [DayOfWeek.Sunday] = ["00:00-24:00"] } } }];
            return await db.SaveChangesAsync();
        });

        var reply = JsonNode.Parse(await (await factory.PostVapiAsync(tenant, DestinationRequest("vapi-xfer-3", "Bureau"))).Content.ReadAsStringAsync())!;

        Assert.Null(reply["destination"]);
        Assert.Contains("Bureau", reply["error"]!.GetValue<string>());
    }
}
