using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Calls;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Platform;

/// <summary>
/// Probe E, F8: a replacing <c>PUT</c> without its field silently cleared the setting, an address that is not one was
/// invited, and names held control characters and bidirectional overrides. Each is now a 422 <c>VALIDATION_FAILED</c>
/// naming the field, and nothing changes.
/// </summary>
[Trait("Category", "Database")]
public sealed class RequiredFieldsAndNamesTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    private static StringContent Json(string raw) => new(raw, Encoding.UTF8, "application/json");

    private static async Task AssertRefusedAsync(HttpResponseMessage response, string field)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.UnprocessableEntity, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {text}");
        var error = JsonNode.Parse(text)!["error"]!;
        Assert.Equal("VALIDATION_FAILED", error["code"]!.GetValue<string>());
        Assert.True(error["details"]?[field] is not null, $"{field} not named: {text}");
    }

    [Fact]
    public async Task AReplacingPutWithoutItsFieldIsRefusedAndClearsNothing()
    {
        var owner = await factory.SignUpAsync();
        await (await owner.Client.PutAsJsonAsync("/api/v1/widget/origins", new { origins = new[] { "https://www.fortin.example" } })).JsonAsync(HttpStatusCode.OK);
        await (await owner.Client.PutAsJsonAsync("/api/v1/widget/settings",
            new { accentColor = "#112233", position = "start", title = "Drain Fortin", greeting = "Bonjour", avatarUrl = (string?)null })).JsonAsync(HttpStatusCode.OK);
        await (await owner.Client.PutAsJsonAsync("/api/v1/retention", new { recordingDays = 30, transcriptDays = 90 })).JsonAsync(HttpStatusCode.OK);
        var origins = await owner.Client.GetStringAsync("/api/v1/widget/origins");
        var settings = await owner.Client.GetStringAsync("/api/v1/widget/settings");
        var retention = await owner.Client.GetStringAsync("/api/v1/retention");

        await AssertRefusedAsync(await owner.Client.PutAsync("/api/v1/widget/origins", Json("{}")), "origins");
        await AssertRefusedAsync(await owner.Client.PutAsync("/api/v1/widget/origins", Json("""{"origins":null}""")), "origins");
        await AssertRefusedAsync(await owner.Client.PutAsync("/api/v1/widget/settings", Json("{}")), "title");
        await AssertRefusedAsync(await owner.Client.PutAsync("/api/v1/widget/settings", Json("""{"accentColor":"#000000","position":"end","title":"x","greeting":"y"}""")), "avatarUrl");
        await AssertRefusedAsync(await owner.Client.PutAsync("/api/v1/retention", Json("{}")), "recordingDays");
        await AssertRefusedAsync(await owner.Client.PutAsync("/api/v1/retention", Json("""{"recordingDays":7}""")), "transcriptDays");

        Assert.Equal(origins, await owner.Client.GetStringAsync("/api/v1/widget/origins"));
        Assert.Equal(settings, await owner.Client.GetStringAsync("/api/v1/widget/settings"));
        Assert.Equal(retention, await owner.Client.GetStringAsync("/api/v1/retention"));
        // An explicit empty list and explicit nulls are still how a client clears them.
        Assert.Empty((await (await owner.Client.PutAsJsonAsync("/api/v1/widget/origins", new { origins = Array.Empty<string>() })).JsonAsync(HttpStatusCode.OK))["origins"]!.AsArray());
        var cleared = await (await owner.Client.PutAsJsonAsync("/api/v1/retention", new { recordingDays = (int?)null, transcriptDays = (int?)null })).JsonAsync(HttpStatusCode.OK);
        Assert.Null(cleared["recordingDays"]);
    }

    [Fact]
    public async Task AFieldOfTheWrongJsonTypeIsNamedWithTheTypeItTakes()
    {
        var owner = await factory.SignUpAsync();
        foreach (var (url, body, field, expected) in new[]
        {
            ("/api/v1/widget/origins", """{"origins":"https://www.fortin.example"}""", "origins", "an array"),
            ("/api/v1/retention", """{"recordingDays":"thirty","transcriptDays":90}""", "recordingDays", "an integer"),
        })
        {
            var error = (await (await owner.Client.PutAsync(url, Json(body))).JsonAsync(HttpStatusCode.BadRequest))["error"]!;
            Assert.Equal($"The request body is not valid: '{field}' must be {expected}.", error["message"]!.GetValue<string>());
            // The sentence the dashboard translates (web/src/lib/field-errors.ts) stays as it was.
            Assert.Equal("malformed or of the wrong type", error["details"]![field]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task AnAddressThatIsNotOneIsRefusedBySignUpAndInvitationsAlike()
    {
        var owner = await factory.SignUpAsync();
        foreach (var email in new[] { "<script>@x.com", "a b@x.com", "\"q\"@x.com", "a@x", "a@-x.com", "a..b@x.com" })
        {
            await AssertRefusedAsync(await owner.Client.PostAsJsonAsync("/api/v1/team/invitations", new { email, role = "member" }), "email");
            await AssertRefusedAsync(await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/signup",
                new { email, password = "correct horse battery staple", organisation = "Plomberie", fullName = "X" }), "email");
        }
        Assert.DoesNotContain("x.com", await owner.Client.GetStringAsync("/api/v1/team/invitations"), StringComparison.Ordinal);
        foreach (var email in new[] { $"o'brien+{Guid.NewGuid():N}@example.test", $"josé.{Guid.NewGuid():N}@exemple.québec" })
        {
            await (await owner.Client.PostAsJsonAsync("/api/v1/team/invitations", new { email, role = "member" })).JsonAsync(HttpStatusCode.Created);
        }
    }

    [Theory]
    [InlineData("\u202eniatroF niarD")]
    [InlineData("evil\u202c")]
    [InlineData("\u2066x\u2069")]
    [InlineData("bell\u0007")]
    [InlineData("esc\u001b[31m")]
    public async Task NamesWithControlOrBidiCharactersAreRefused(string name)
    {
        await AssertRefusedAsync(await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/signup",
            new { email = $"n-{Guid.NewGuid():N}@example.test", password = "correct horse battery staple", organisation = name, fullName = "X" }), "organisation");
        await AssertRefusedAsync(await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/signup",
            new { email = $"n-{Guid.NewGuid():N}@example.test", password = "correct horse battery staple", organisation = "Plomberie", fullName = name }), "fullName");

        var owner = await factory.SignUpAsync();
        var assistants = await owner.Client.GetStringAsync("/api/v1/assistants");
        await AssertRefusedAsync(await owner.Client.PostAsJsonAsync("/api/v1/assistants", new { name }), "name");
        Assert.Equal(assistants, await owner.Client.GetStringAsync("/api/v1/assistants"));

        var email = $"invitee-{Guid.NewGuid():N}@example.test";
        var token = await factory.InviteAsync(owner.Client, email, "member");
        await AssertRefusedAsync(await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/invitations/accept",
            new { token, password = "correct horse battery staple", fullName = name }), "fullName");
        // The invitation is still usable with a clean name.
        await (await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/invitations/accept",
            new { token, password = "correct horse battery staple", fullName = "Marie Tremblay" })).JsonAsync(HttpStatusCode.OK);
    }

    public static TheoryData<string> TrojanSourceTexts() => new()
    {
        "Payé\u202e.tnatpmoc",   // RIGHT-TO-LEFT OVERRIDE
        "\u2066rappeler\u2069",   // LEFT-TO-RIGHT ISOLATE … POP DIRECTIONAL ISOLATE
        "note\u202a",             // LEFT-TO-RIGHT EMBEDDING
        "bell\u0007",             // C0 control
        "esc\u001b[31mrouge",     // ANSI escape
        "ne\u0085l",              // C1 control (NEXT LINE; inside the text, as Trim() drops it at an end)
        "del\u007f",              // DEL
    };

    [Theory]
    [MemberData(nameof(TrojanSourceTexts))]
    public async Task LeadNotesWithBidiOverridesOrControlCharactersAreRefusedAndNothingChanges(string notes)
    {
        var owner = await factory.SignUpAsync();
        var leadId = await AddLeadAsync(owner.TenantId, "Rappeler demain");

        await AssertRefusedAsync(await owner.Client.PatchAsJsonAsync($"/api/v1/leads/{leadId}", new { notes }), "notes");
        await AssertRefusedAsync(await owner.Client.PatchAsJsonAsync($"/api/v1/leads/{leadId}", new { status = "contacted", notes }), "notes");

        var lead = await factory.WithDbAsync(owner.TenantId, db => db.Leads.AsNoTracking().SingleAsync(l => l.Id == leadId));
        Assert.Equal(("Rappeler demain", "new"), (lead.Notes, lead.Status));
    }

    [Fact]
    public async Task MultiLineLeadNotesInAnyScriptWithDirectionMarksAreAccepted()
    {
        var owner = await factory.SignUpAsync();
        var leadId = await AddLeadAsync(owner.TenantId, null);
        // Line breaks (CRLF or LF), tabs, and LRM/RLM (U+200E/U+200F), which Hebrew and Arabic text uses legitimately.
        const string notes = "Rappelée à 10 h 05.\r\nAdresse :\t12 rue Principale\nהלקוח אמר \u200f\"דחוף\"\u200f — مستعجل\u200e (514) 555-0123";

        var patched = await (await owner.Client.PatchAsJsonAsync($"/api/v1/leads/{leadId}", new { notes })).JsonAsync(HttpStatusCode.OK);

        Assert.Equal(notes, patched["notes"]!.GetValue<string>());
        Assert.Equal(notes, await factory.WithDbAsync(owner.TenantId, db => db.Leads.Where(l => l.Id == leadId).Select(l => l.Notes).SingleAsync()));
    }

    [Theory]
    [MemberData(nameof(TrojanSourceTexts))]
    public async Task PersonaTextAndAssistantNamesWithBidiOverridesAreRefusedByTheStudioAndOnboarding(string text)
    {
        var owner = await factory.SignUpAsync();
        await (await owner.Client.PatchAsJsonAsync("/api/v1/studio", new { persona = new { persona = "Sophie, réceptionniste", tone = "chaleureux" } })).JsonAsync(HttpStatusCode.OK);
        var studio = await owner.Client.GetStringAsync("/api/v1/studio");
        var assistants = await owner.Client.GetStringAsync("/api/v1/assistants");

        await AssertRefusedAsync(await owner.Client.PatchAsJsonAsync("/api/v1/studio", new { persona = new { persona = text } }), "persona.persona");
        await AssertRefusedAsync(await owner.Client.PatchAsJsonAsync("/api/v1/studio", new { persona = new { guidelines = text, tone = "calme" } }), "persona.guidelines");
        await AssertRefusedAsync(await owner.Client.PatchAsJsonAsync("/api/v1/studio", new { persona = new { tone = text } }), "persona.tone");
        await AssertRefusedAsync(await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new { persona = new { jobToBeDone = text } }), "persona.jobToBeDone");
        await AssertRefusedAsync(await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new { assistant = new { name = text } }), "assistant.name");
        var assistantId = (await (await owner.Client.PostAsJsonAsync("/api/v1/assistants", new { name = "Paul" })).JsonAsync(HttpStatusCode.Created))["id"]!.GetValue<Guid>();
        assistants = await owner.Client.GetStringAsync("/api/v1/assistants");
        await AssertRefusedAsync(await owner.Client.PatchAsJsonAsync($"/api/v1/assistants/{assistantId}", new { name = text }), "name");
        await AssertRefusedAsync(await owner.Client.PatchAsJsonAsync($"/api/v1/assistants/{assistantId}",
            new { transfer = new { enabled = true, destinations = new[] { new { name = text, number = "+15145550111" } } } }), "transfer.destinations[0].name");

        Assert.Equal(studio, await owner.Client.GetStringAsync("/api/v1/studio"));
        Assert.Equal(assistants, await owner.Client.GetStringAsync("/api/v1/assistants"));
    }

    [Fact]
    public async Task MultiLinePersonaGuidelinesWithDirectionMarksAreAccepted()
    {
        var owner = await factory.SignUpAsync();
        const string guidelines = "1. Vouvoyer.\r\n2. Ne jamais promettre d'heure.\n\t– En hébreu : \u200fשלום\u200f";

        var saved = await (await owner.Client.PatchAsJsonAsync("/api/v1/studio", new { persona = new { persona = "Sophie\nréceptionniste", guidelines } })).JsonAsync(HttpStatusCode.OK);

        Assert.Equal(guidelines, saved["studio"]!["persona"]!["guidelines"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(TrojanSourceTexts))]
    public async Task OtherDisplayNamesWithBidiOverridesAreRefused(string text)
    {
        var owner = await factory.SignUpAsync();
        await factory.SetPlanAsync(owner.TenantId, "telephony"); // campaigns and the do-not-call list are telephony features
        var keys = await owner.Client.GetStringAsync("/api/v1/keys");
        var widget = await owner.Client.GetStringAsync("/api/v1/widget/settings");

        await AssertRefusedAsync(await owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = text }), "name");
        await AssertRefusedAsync(await owner.Client.PutAsJsonAsync("/api/v1/widget/settings",
            new { accentColor = "#112233", position = "start", title = text, greeting = "Bonjour", avatarUrl = (string?)null }), "title");
        await AssertRefusedAsync(await owner.Client.PutAsJsonAsync("/api/v1/widget/settings",
            new { accentColor = "#112233", position = "start", title = "Drain Fortin", greeting = text, avatarUrl = (string?)null }), "greeting");
        await AssertRefusedAsync(await owner.Client.PostAsJsonAsync("/api/v1/campaigns", new { name = text, contactsCsv = "number\n+15145597000" }), "name");
        var dnc = await owner.Client.PostAsJsonAsync("/api/v1/dnc", new { number = "+15145597001", note = text });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, dnc.StatusCode);
        Assert.Equal("INVALID_NOTE", await dnc.ErrorCodeAsync());

        Assert.Equal(keys, await owner.Client.GetStringAsync("/api/v1/keys"));
        Assert.Equal(widget, await owner.Client.GetStringAsync("/api/v1/widget/settings"));
        Assert.Equal("[]", await owner.Client.GetStringAsync("/api/v1/dnc"));
        Assert.Equal(0, await factory.WithDbAsync(owner.TenantId, db => db.Campaigns.CountAsync()));
    }

    private async Task<Guid> AddLeadAsync(Guid tenantId, string? notes) => await factory.WithDbAsync(tenantId, async db =>
    {
        var at = factory.Clock.GetUtcNow();
        var call = new Call
        {
            Id = Guid.CreateVersion7(), TenantId = tenantId, Channel = "voice", Provider = "vapi", ProviderCallId = "c-" + Guid.NewGuid(),
            Status = "ended", CustomerNumber = "+15145550123", CreatedAt = at, UpdatedAt = at,
        };
        var lead = new Lead
        {
            Id = Guid.CreateVersion7(), TenantId = tenantId, CallId = call.Id, Name = "Marie Tremblay", Phone = "+15145550123", Problem = "Drain bouché",
            Urgency = "routine", Source = "tool", Notes = notes, CreatedAt = at, UpdatedAt = at,
        };
        db.Calls.Add(call);
        db.Leads.Add(lead);
        await db.SaveChangesAsync();
        return lead.Id;
    });

    [Fact]
    public async Task NamesInAnyScriptWithTabsOrNewlinesAreStillAccepted()
    {
        var owner = await factory.SignUpAsync(organisation: "שרברבות תל אביב");
        await (await owner.Client.PostAsJsonAsync("/api/v1/assistants", new { name = "مساعد\tAccueil" })).JsonAsync(HttpStatusCode.Created);
    }
}
