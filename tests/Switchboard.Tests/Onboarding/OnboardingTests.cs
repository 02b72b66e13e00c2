using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Onboarding;

[Trait("Category", "Database")]
public sealed class OnboardingTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    private static object ValidProfile(DateTimeOffset at) => new
    {
        fullName = "Marie Fortin",
        organisation = "Drain Fortin",
        industry = "plumbing",
        timeZone = "America/Toronto",
        locale = "fr-CA",
        marketingOptIn = true,
        acceptedTerms = new { version = "2026-01", at },
    };

    [Fact]
    public async Task ANewTenantStartsAtTheProfileWithEveryStepMissing()
    {
        var owner = await factory.SignUpAsync();
        var state = await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/onboarding");
        Assert.Equal("profile", state!["currentStep"]!.GetValue<string>());
        Assert.Equal(9, state["steps"]!.AsArray().Count);
        Assert.All(state["skipped"]!.AsObject(), p => Assert.False(p.Value!.GetValue<bool>()));
        var missingSteps = state["missing"]!.AsArray().Select(m => m!["step"]!.GetValue<string>()).Distinct().ToList();
        // The Free plan answers through the chat widget only: no voice provider, no phone number to set up.
        Assert.Equal(["profile", "persona", "twilio", "integrations", "assistant"], missingSteps);
        Assert.Equal("free", state["plan"]!["planId"]!.GetValue<string>());
        Assert.Equal(4, state["plan"]!["available"]!.AsArray().Count);

        await factory.SetPlanAsync(owner.TenantId, "telephony");
        state = await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/onboarding");
        missingSteps = state!["missing"]!.AsArray().Select(m => m!["step"]!.GetValue<string>()).Distinct().ToList();
        Assert.Equal(["profile", "voiceProvider", "persona", "twilio", "telephony", "integrations", "assistant"], missingSteps);
    }

    [Fact]
    public async Task AChatOnlyBusinessIsNotAskedForAPhoneNumberOrVapiAndEveryItemIsOwnerReadable()
    {
        var owner = await factory.SignUpAsync();
        // Vapi is the default provider of a new assistant; with no Vapi key it waits for credentials.
        var state = await (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new
        {
            assistant = new { name = "Léa", firstMessage = "Clinique dentaire, bonjour!" },
        })).JsonAsync(HttpStatusCode.OK);
        await factory.Outbox.DrainAsync(CancellationToken.None);
        state = (await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/onboarding"))!;
        var items = state["missing"]!.AsArray().Select(m => m!.AsObject()).ToList();
        Assert.DoesNotContain(items, m => m["step"]!.GetValue<string>() is "voiceProvider" or "telephony");
        Assert.DoesNotContain(items, m => m["field"]!.GetValue<string>() == "sync");

        // The same business on a plan with phone numbers: Vapi and the number are missing, in product words with a code.
        await factory.SetPlanAsync(owner.TenantId, "telephony");
        state = (await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/onboarding"))!;
        items = state["missing"]!.AsArray().Select(m => m!.AsObject()).ToList();
        var sync = Assert.Single(items, m => m["field"]!.GetValue<string>() == "sync");
        Assert.Equal("ASSISTANT_WAITING_FOR_VAPI_KEY", sync["code"]!.GetValue<string>());
        Assert.Contains(items, m => m["code"]?.GetValue<string>() == "NUMBER_MISSING");
        Assert.Contains(items, m => m["code"]?.GetValue<string>() == "VOICE_PROVIDER_NOT_CHOSEN");
        Assert.All(items, m =>
        {
            Assert.False(string.IsNullOrEmpty(m["code"]?.GetValue<string>()));
            var message = m["message"]!.GetValue<string>();
            Assert.DoesNotContain("/api/", message);
            Assert.DoesNotContain("waiting-for-credentials", message);
        });
    }

    [Fact]
    public async Task AMissingSmsSenderIsWordedForTheOwnerWithoutAnEndpoint()
    {
        var owner = await factory.SignUpAsync();
        await (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new
        {
            twilio = new { accountSid = TwilioNumbersSimulator.AccountSid, authToken = TwilioNumbersSimulator.AuthToken },
        })).JsonAsync(HttpStatusCode.OK);
        var state = (await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/onboarding"))!;
        var sender = Assert.Single(state["missing"]!.AsArray(), m => m!["field"]!.GetValue<string>() == "smsSender")!;
        Assert.Equal("SMS_SENDER_MISSING_CHAT_ONLY", sender["code"]!.GetValue<string>());
        Assert.DoesNotContain("PUT ", sender["message"]!.GetValue<string>());

        await factory.SetPlanAsync(owner.TenantId, "telephony");
        state = (await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/onboarding"))!;
        sender = Assert.Single(state["missing"]!.AsArray(), m => m!["field"]!.GetValue<string>() == "smsSender")!;
        Assert.Equal("SMS_SENDER_MISSING", sender["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnInvalidProfileIsRefusedAndNothingIsSaved()
    {
        var owner = await factory.SignUpAsync();
        var response = await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new
        {
            profile = new { timeZone = "Eastern Standard Time", locale = "not a locale", acceptedTerms = new { version = "2026-01", at = factory.Clock.GetUtcNow().AddDays(2) } },
            persona = new { persona = "should not be saved" },
        });
        var details = (await response.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!["details"]!.AsObject();
        Assert.True(details.ContainsKey("timeZone") && details.ContainsKey("locale") && details.ContainsKey("acceptedTerms.at"));
        var state = await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/onboarding");
        Assert.Null(state!["persona"]!["persona"]);
        Assert.Equal("UTC", state["profile"]!["timeZone"]!.GetValue<string>());

        var bad = await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new { profile = new { timeZone = "Mars/Olympus_Mons" } });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
    }

    [Fact]
    public async Task TheProfileRefusesTheLeapSecondAndPosixZoneCopiesAndStoresALinkAsItsZone()
    {
        var owner = await factory.SignUpAsync();
        foreach (var copy in new[] { "right/America/Montreal", "posix/America/Montreal", "SystemV/AST4ADT" })
        {
            var refused = await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new { profile = new { timeZone = copy } });
            var details = (await refused.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!["details"]!.AsObject();
            Assert.StartsWith("must be an IANA time zone", details["timeZone"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        Assert.Equal("UTC", (await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/onboarding"))!["profile"]!["timeZone"]!.GetValue<string>());

        await (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new { profile = new { timeZone = "Canada/Eastern" } })).JsonAsync(HttpStatusCode.OK);
        var state = await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/onboarding");
        Assert.Equal("America/Toronto", state!["profile"]!["timeZone"]!.GetValue<string>());
        Assert.Equal("America/Toronto", await factory.WithDbAsync(null, db => db.Tenants.Where(t => t.Id == owner.TenantId).Select(t => t.TimeZone).FirstAsync()));
    }

    [Fact]
    public async Task PartialPatchesSaveAsTheyGoAndRepeatingOneChangesNothing()
    {
        var owner = await factory.SignUpAsync();
        await factory.SetPlanAsync(owner.TenantId, "pro");
        var patch = new
        {
            currentStep = "assistant",
            profile = ValidProfile(factory.Clock.GetUtcNow()),
            voiceProvider = new { provider = "vapi", vapiApiKey = VapiSimulator.PrivateKey },
            persona = new { persona = "Paul, friendly", jobToBeDone = "take plumbing emergencies", languages = new[] { "fr-CA", "en-US" }, tone = "warm", guidelines = "Never transfer.", fallbackEmail = "bureau@drainfortin.example" },
            twilio = new { accountSid = TwilioNumbersSimulator.AccountSid, authToken = TwilioNumbersSimulator.AuthToken },
            integrations = new { calendar = "google-calendar" },
            assistant = new { name = "Paul", firstMessage = "Drain Fortin, bonjour!" },
        };
        var first = await (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", patch)).JsonAsync(HttpStatusCode.OK);
        Assert.Empty(first["warnings"]!.AsArray());
        Assert.Equal("Drain Fortin", first["profile"]!["organisation"]!.GetValue<string>());
        Assert.Equal("America/Toronto", first["profile"]!["timeZone"]!.GetValue<string>());
        Assert.Equal("2026-01", first["profile"]!["acceptedTerms"]!["version"]!.GetValue<string>());
        Assert.Equal("vapi-…9fA2", first["voiceProvider"]!["vapi"]!["preview"]!.GetValue<string>());
        Assert.Equal("Paul", first["assistant"]!["assistant"]!["name"]!.GetValue<string>());
        Assert.Contains("Never transfer.", first["assistant"]!["assistant"]!["instructions"]!.GetValue<string>());
        Assert.Equal(["fr-CA", "en-US"], first["assistant"]!["assistant"]!["languages"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.Equal("assistant", first["currentStep"]!.GetValue<string>());

        var counts = await Counts(owner.TenantId);
        var second = await (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", patch)).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(counts, await Counts(owner.TenantId));
        first.Remove("warnings");
        second.Remove("warnings");
        Assert.Equal(first.ToJsonString(), second.ToJsonString());
    }

    private Task<(int Outbox, int Audit, int Assistants, int Credentials)> Counts(Guid tenantId) => factory.WithDbAsync(tenantId, async db =>
        (await db.Outbox.CountAsync(), await db.AuditLog.CountAsync(), await db.Assistants.CountAsync(), await db.ProviderCredentials.CountAsync()));

    [Fact]
    public async Task OtherStepsWarnInsteadOfBlocking()
    {
        var owner = await factory.SignUpAsync();
        var result = await (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new
        {
            persona = new { persona = "Ava", fallbackEmail = "not-an-email", languages = new[] { "fr-CA", "!!" } },
            integrations = new { calendar = "google-calendar", crm = "acme-crm" },
            telephony = new { number = "+15145550000", businessHours = new { weekly = new Dictionary<string, string[]> { ["monday"] = ["09:00-17:00", "nine to five"] } } },
            twilio = new { accountSid = "AC123" },
            plan = new { planId = "platinum" },
        })).JsonAsync(HttpStatusCode.OK);

        var warned = result["warnings"]!.AsArray().Select(w => $"{w!["step"]}.{w["field"]}").ToHashSet();
        Assert.Superset(new HashSet<string> { "persona.fallbackEmail", "persona.languages", "integrations.crm", "telephony.businessHours", "telephony.number", "twilio.accountSid", "plan.planId" }, warned);
        Assert.Equal("Ava", result["persona"]!["persona"]!.GetValue<string>());
        Assert.Equal(["fr-CA"], result["persona"]!["languages"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.Equal("google-calendar", result["integrations"]!["calendar"]!.GetValue<string>());
        Assert.Null(result["integrations"]!["crm"]);
        Assert.Equal(["09:00-17:00"], result["telephony"]!["businessHours"]!["weekly"]!["monday"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal("the Free plan has no phone numbers: choose Telephony at the plan step, then attach the number here; not saved",
            result["warnings"]!.AsArray().First(w => w!["field"]!.GetValue<string>() == "number")!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task EveryWarningCarriesACodeAndTheValuesItsSentenceNamesSoTheDashboardCanTranslateIt()
    {
        var owner = await factory.SignUpAsync();
        var result = await (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new
        {
            voiceProvider = new { provider = "vapi", openAiApiKey = "short" },
            persona = new { tone = new string('a', 101), fallbackEmail = "not-an-email", languages = new[] { "!!" } },
            integrations = new { crm = "acme-crm" },
            telephony = new { number = "+15145550000", businessHours = new { weekly = new Dictionary<string, string[]> { ["monday"] = ["nine to five"] } } },
            twilio = new { accountSid = "AC123" },
            plan = new { planId = "platinum" },
        })).JsonAsync(HttpStatusCode.OK);

        var warnings = result["warnings"]!.AsArray().Select(w => w!.AsObject()).ToList();
        Assert.All(warnings, w => Assert.Matches("^[A-Z_]+$", w["code"]?.GetValue<string>() ?? ""));
        string Code(string field) => warnings.First(w => w["field"]!.GetValue<string>() == field)["code"]!.GetValue<string>();
        JsonObject Details(string field) => warnings.First(w => w["field"]!.GetValue<string>() == field)["details"]!.AsObject();
        Assert.Equal("VAPI_KEY_NEEDED", Code("vapiApiKey"));
        Assert.Equal("OPENAI_KEY_INVALID", Code("openAiApiKey"));
        Assert.Equal("TEXT_TOO_LONG", Code("tone"));
        Assert.Equal("100", Details("tone")["max"]!.GetValue<string>());
        Assert.Equal("FALLBACK_EMAIL_INVALID", Code("fallbackEmail"));
        Assert.Equal("LANGUAGE_TAG_INVALID", Code("languages"));
        Assert.Equal("!!", Details("languages")["tag"]!.GetValue<string>());
        Assert.Equal("INTEGRATION_UNKNOWN", Code("crm"));
        Assert.Equal("BUSINESS_HOURS_INVALID", Code("businessHours"));
        Assert.Equal(("range", "monday", "nine to five"), // the kind and values, not only the English phrase
            (Details("businessHours")["kind"]!.GetValue<string>(), Details("businessHours")["day"]!.GetValue<string>(), Details("businessHours")["value"]!.GetValue<string>()));
        Assert.Equal("NUMBER_NOT_IN_PLAN", Code("number"));
        Assert.Equal("Free", Details("number")["plan"]!.GetValue<string>());
        Assert.Equal("TWILIO_ACCOUNT_SID_INVALID", Code("accountSid"));
        Assert.Equal("PLAN_UNKNOWN", Code("planId"));
    }

    [Fact]
    public async Task SkippedFlagsAndTheCurrentStepAreKept()
    {
        var owner = await factory.SignUpAsync();
        var result = await (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new
        {
            currentStep = "telephony",
            skipped = new Dictionary<string, bool> { ["twilio"] = true, ["integrations"] = true, ["profile"] = true },
        })).JsonAsync(HttpStatusCode.OK);
        Assert.True(result["skipped"]!["twilio"]!.GetValue<bool>());
        Assert.False(result["skipped"]!["profile"]!.GetValue<bool>());
        Assert.Contains(result["warnings"]!.AsArray(), w => w!["step"]!.GetValue<string>() == "profile");
        Assert.True(result["missing"]!.AsArray().First(m => m!["step"]!.GetValue<string>() == "twilio")!["skipped"]!.GetValue<bool>());

        result = await (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new { skipped = new Dictionary<string, bool> { ["twilio"] = false } })).JsonAsync(HttpStatusCode.OK);
        Assert.False(result["skipped"]!["twilio"]!.GetValue<bool>());
        Assert.True(result["skipped"]!["integrations"]!.GetValue<bool>());
        Assert.Equal("telephony", (await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/onboarding"))!["currentStep"]!.GetValue<string>());
    }

    [Fact]
    public async Task CompletionNeedsTheProfileAndReportsWhatIsMissing()
    {
        var owner = await factory.SignUpAsync();
        var early = await owner.Client.PostAsync("/api/v1/onboarding/complete", null);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, early.StatusCode);
        Assert.Equal("PROFILE_INCOMPLETE", await early.ErrorCodeAsync());

        await (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new { profile = ValidProfile(factory.Clock.GetUtcNow()) })).JsonAsync(HttpStatusCode.OK);
        var done = await (await owner.Client.PostAsync("/api/v1/onboarding/complete", null)).JsonAsync(HttpStatusCode.OK);
        var at = done["completedAt"]!.GetValue<DateTimeOffset>();
        Assert.Contains(done["missing"]!.AsArray(), m => m!["step"]!.GetValue<string>() == "assistant");
        Assert.DoesNotContain(done["missing"]!.AsArray(), m => m!["step"]!.GetValue<string>() == "profile");

        factory.Clock.Advance(TimeSpan.FromMinutes(3));
        var again = await (await owner.Client.PostAsync("/api/v1/onboarding/complete", null)).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(at, again["completedAt"]!.GetValue<DateTimeOffset>());
        Assert.Equal("done", (await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/onboarding"))!["currentStep"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheTradeChosenAtTheProfileStepSetsTheUrgencyCuesCallsAndChatsAreClassifiedWith()
    {
        var owner = await factory.SignUpAsync();
        Task<Switchboard.Tenancy.UrgencyRules> RulesAsync() =>
            factory.WithDbAsync(null, db => db.Tenants.Where(t => t.Id == owner.TenantId).Select(t => t.UrgencyRules).FirstAsync());
        const string flooded = "Hi, my basement is flooded, water everywhere!";
        const string sewer = "We have a sewer backup in the laundry room";
        var generic = await RulesAsync();
        Assert.Equal(Switchboard.Calls.Urgency.Routine, Switchboard.Calls.UrgencyClassifier.Classify(sewer, generic).Urgency); // generic cues
        Assert.Equal(Switchboard.Calls.Urgency.Emergency, Switchboard.Calls.UrgencyClassifier.Classify(flooded, generic).Urgency); // a flood, whatever the trade

        await (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new { profile = new { industry = "plumbing" } })).JsonAsync(HttpStatusCode.OK);
        var plumbing = await RulesAsync();
        Assert.Equal(Switchboard.Calls.Urgency.Emergency, Switchboard.Calls.UrgencyClassifier.Classify(sewer, plumbing).Urgency);
        Assert.Equal(Switchboard.Calls.Urgency.Emergency, Switchboard.Calls.UrgencyClassifier.Classify("J'ai un tuyau éclaté dans la cuisine", plumbing).Urgency);
        Assert.Contains("sewer backup", plumbing.Emergency); // the template's own cues, as the gallery shows them

        // A trade whose cues are not emergencies (a restaurant's "table for tonight") makes them soon-needed, never an on-call text.
        await (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new { profile = new { industry = "restaurant" } })).JsonAsync(HttpStatusCode.OK);
        var restaurant = await RulesAsync();
        Assert.Equal(Switchboard.Calls.Urgency.Soon, Switchboard.Calls.UrgencyClassifier.Classify("Do you have a table for tonight?", restaurant).Urgency);
        Assert.DoesNotContain("sewer backup", restaurant.Emergency);
    }

    [Fact]
    public async Task TheStudioConfigurationIsPersisted()
    {
        var owner = await factory.SignUpAsync();
        var result = await (await owner.Client.PatchAsJsonAsync("/api/v1/studio", new
        {
            persona = new { persona = "Ava", tone = "formal", guidelines = "Never quote prices." },
            businessHours = new { weekly = new Dictionary<string, string[]> { ["saturday"] = ["09:00-12:00"] }, holidays = new[] { "2026-12-25", "christmas" } },
            integrations = new { workspace = "slack" },
        })).JsonAsync(HttpStatusCode.OK);
        Assert.Single(result["warnings"]!.AsArray());
        var studio = await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/studio");
        Assert.Equal("formal", studio!["persona"]!["tone"]!.GetValue<string>());
        Assert.Equal(["09:00-12:00"], studio["businessHours"]!["weekly"]!["saturday"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal(["2026-12-25"], studio["businessHours"]!["holidays"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal("slack", studio["integrations"]!["workspace"]!.GetValue<string>());
        var hours = await factory.WithDbAsync(null, db => db.Tenants.Where(t => t.Id == owner.TenantId).Select(t => t.BusinessHours).FirstAsync());
        Assert.Equal(["09:00-12:00"], hours.Weekly[DayOfWeek.Saturday]);

        // A JSON null in a day's ranges is a bad range like any other (it was a NullReferenceException: a 500).
        var nulls = await (await owner.Client.PatchAsJsonAsync("/api/v1/studio", new
        {
            businessHours = new { weekly = new Dictionary<string, string?[]> { ["monday"] = [null, "08:00-12:00"] }, holidays = new string?[] { null } },
        })).JsonAsync(HttpStatusCode.OK);
        Assert.Contains("null", nulls["warnings"]!.ToJsonString());
        hours = await factory.WithDbAsync(null, db => db.Tenants.Where(t => t.Id == owner.TenantId).Select(t => t.BusinessHours).FirstAsync());
        Assert.Equal(["08:00-12:00"], hours.Weekly[DayOfWeek.Monday]);
    }

    [Theory]
    [InlineData("monday, tuesday")] // Enum.TryParse ORs a list: Monday | Tuesday = Wednesday
    [InlineData("friday,saturday")] // 5 | 6 = 7: a day that does not exist
    [InlineData(" sunday")]
    [InlineData("Monday\u0000")]
    public async Task AWeekdayThatIsNotOneDaysNameIsAWarningAndChangesNoDay(string day)
    {
        var owner = await factory.SignUpAsync();
        (await owner.Client.PatchAsJsonAsync("/api/v1/studio", new
        {
            businessHours = new { weekly = new Dictionary<string, string[]> { ["thursday"] = ["09:00-17:00"] } },
        })).EnsureSuccessStatusCode();

        var result = await owner.Client.PatchAsJsonAsync("/api/v1/studio", new
        {
            businessHours = new { weekly = new Dictionary<string, string[]> { [day] = ["08:00-12:00"], ["thursday"] = ["09:00-17:00"] } },
        });

        if (result.StatusCode == HttpStatusCode.OK)
        {
            var warning = (await result.JsonAsync(HttpStatusCode.OK))["warnings"]!.AsArray().Single()!;
            Assert.Equal("BUSINESS_HOURS_INVALID", warning["code"]!.GetValue<string>());
            Assert.Equal("weekday", warning["details"]!["kind"]!.GetValue<string>());
        }
        else
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, result.StatusCode); // U+0000: text that cannot be stored
        }
        var hours = await factory.WithDbAsync(null, db => db.Tenants.Where(t => t.Id == owner.TenantId).Select(t => t.BusinessHours).FirstAsync());
        Assert.Equal([DayOfWeek.Thursday], hours.Weekly.Keys);
        Assert.Equal(["thursday"], (await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/studio"))!["businessHours"]!["weekly"]!.AsObject().Select(p => p.Key));
    }

    [Fact]
    public async Task ChangesToTheHoursAndToWhoIsTextedAreInTheAuditLog()
    {
        var owner = await factory.SignUpAsync();
        (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new
        {
            telephony = new { businessHours = new { weekly = new Dictionary<string, string[]> { ["saturday"] = ["09:00-12:00"] } } },
        })).EnsureSuccessStatusCode();
        var created = await (await owner.Client.PostAsJsonAsync("/api/v1/assistants", new { name = "Paul" })).JsonAsync(HttpStatusCode.Created);
        var assistantId = created["id"]!.GetValue<Guid>();
        (await owner.Client.PatchAsJsonAsync($"/api/v1/assistants/{assistantId}", new
        {
            firstMessage = "Bonjour!", alertPolicy = new { onCallNumbers = new[] { "+15145550222" }, officeNumbers = Array.Empty<string>() },
        })).EnsureSuccessStatusCode();

        var entries = await factory.WithDbAsync(null, db => db.AuditLog.IgnoreQueryFilters().Where(a => a.TenantId == owner.TenantId)
            .Where(a => a.Action == "business.updated" || a.Action == "assistant.updated").ToListAsync());
        var business = System.Text.Json.Nodes.JsonNode.Parse(Assert.Single(entries, e => e.Action == "business.updated").DetailsJson!)!;
        Assert.Contains("businessHours", business["changed"]!.AsArray().Select(c => c!.GetValue<string>()));
        var assistant = System.Text.Json.Nodes.JsonNode.Parse(Assert.Single(entries, e => e.Action == "assistant.updated").DetailsJson!)!;
        Assert.Equal(["alertPolicy", "firstMessage"], assistant["changed"]!.AsArray().Select(c => c!.GetValue<string>()).Order());
        Assert.Equal("+15145550222", assistant["alertPolicy"]!["to"]!["onCallNumbers"]![0]!.GetValue<string>());
    }
}
