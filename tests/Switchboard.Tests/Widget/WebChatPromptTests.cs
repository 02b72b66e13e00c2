using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Brain;
using Switchboard.Realtime.Bridge;
using Switchboard.Simulators;
using Switchboard.Templates;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Widget;

/// <summary>
/// The chat model's system prompt and tool descriptions follow the business (an outside review: every business's model was told
/// about flooded basements and burst pipes): its name, its industry's emergencies, neutral words when it recorded no industry.
/// Read from what the chat model simulator received.
/// </summary>
[Trait("Category", "Database")]
public sealed class WebChatPromptTests(WidgetFactory factory) : IClassFixture<WidgetFactory>
{
    /// <summary>Words of a plumbing business or of a trade, which a clinic's or a neutral business's model must not read.</summary>
    private static readonly string[] PlumbingWords =
        ["plumb", "plomb", "flood", "inond", "pipe", "tuyau", "sewer", "égout", "no water", "technician", "technicien", "Service address", "the work"];

    /// <summary>
    /// A widget tenant using the simulated model; <paramref name="industry"/> recorded as at onboarding, with its trade's urgency
    /// rules; with no industry, the generic rules a business gets at sign-up.
    /// </summary>
    private async Task<WidgetTenant> TenantAsync(string name, string? industry, ChatModelSimulator model)
    {
        var t = await factory.CreateWidgetTenantAsync(name);
        var rules = factory.Services.GetRequiredService<AssistantTemplateCatalog>().UrgencyRulesFor(industry);
        await factory.WithDbAsync(t.Id, async db =>
        {
            (await db.TenantAccounts.SingleAsync(a => a.TenantId == t.Id)).Industry = industry;
            (await db.Tenants.SingleAsync(x => x.Id == t.Id)).UrgencyRules = rules;
            (await db.Assistants.SingleAsync(a => a.TenantId == t.Id)).Instructions = null; // the default persona, which names the business
            return await db.SaveChangesAsync();
        });
        await factory.UseModelAsync(t.Id, model.BaseUrl);
        return t;
    }

    /// <summary>The system prompt and the tools of the first request the model received for one visitor message.</summary>
    private static async Task<(string System, string Tools)> FirstRequestAsync(WidgetFactory factory, WidgetTenant t, ChatModelSimulator model)
    {
        var visitor = new Visitor(factory.Browser(), t);
        await visitor.StartAsync(language: "fr");
        var reply = await visitor.SayAsync("Bonjour");
        Assert.Equal("model", reply.Done!["brain"]!.GetValue<string>());
        var request = model.Requests.First();
        var system = request["messages"]!.AsArray().First(m => m!["role"]!.GetValue<string>() == "system")!["content"]!.GetValue<string>();
        return (system, request["tools"]!.ToJsonString(new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }

    [Fact]
    public async Task ADentalClinicsModelIsToldOfToothachesUnderItsOwnNameNotOfBurstPipes()
    {
        await using var model = await ChatModelSimulator.StartAsync();
        var t = await TenantAsync("Clinique Dentaire Sourire", "dental-clinic", model);

        var (system, tools) = await FirstRequestAsync(factory, t, model);

        Assert.Contains("You are the receptionist of Clinique Dentaire Sourire.", system);
        Assert.Contains("An emergency (a severe toothache, a swollen face, a knocked-out or broken tooth, bleeding that will not stop) is urgent", system);
        Assert.Contains("the person on call is texted", system);
        Assert.Contains("Clinique Dentaire Sourire also treats these as emergencies: severe toothache", system);
        Assert.Contains("\"The caller's address, if they give one\"", tools);
        Assert.All(PlumbingWords, w => Assert.DoesNotContain(w, system, StringComparison.OrdinalIgnoreCase));
        Assert.All(PlumbingWords, w => Assert.DoesNotContain(w, tools, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task APlumbersModelKeepsThePlumbingEmergencies()
    {
        await using var model = await ChatModelSimulator.StartAsync();
        var t = await TenantAsync("Plomberie Laval", "plumbing", model);

        var (system, tools) = await FirstRequestAsync(factory, t, model);

        Assert.Contains("You are the receptionist of Plomberie Laval.", system);
        Assert.Contains("As soon as you know the problem and a callback number, call capture_lead", system);
        Assert.Contains("An emergency (flooding, sewer backup, burst or frozen pipe, no water) is urgent: capture the lead at once, the on-call staff is texted.", system);
        Assert.Contains("\"Service address\"", tools);
    }

    [Fact]
    public async Task DrainFortinWithNoRecordedIndustryKeepsItsPromptWordForWord()
    {
        await using var model = await ChatModelSimulator.StartAsync();
        var t = await factory.CreateWidgetTenantAsync("Drain Fortin Modèle"); // plumbing rules, no industry: as the demo seeder makes it
        await factory.UseModelAsync(t.Id, model.BaseUrl);

        var (system, tools) = await FirstRequestAsync(factory, t, model);

        Assert.EndsWith("""
            Keep answers short (at most 3 sentences). Use search_knowledge_base (when available) for questions about the business, check_business_hours for hours.
            As soon as you know the problem and a callback number, call capture_lead (name, phone, address, problem, urgency; budget, authority, need, timeline when known).
            An emergency (flooding, sewer backup, burst or frozen pipe, no water) is urgent: capture the lead at once, the on-call staff is texted.
            """, system);
        Assert.Contains("\"Service address\"", tools);
        Assert.Contains("\"When the work is wanted (now, this week, later)\"", tools);
    }

    [Fact]
    public async Task ABusinessWithoutAnIndustryGetsNeutralWordsAndNoTechnician()
    {
        await using var model = await ChatModelSimulator.StartAsync();
        var t = await TenantAsync("Studio Lumière", null, model);

        var (system, tools) = await FirstRequestAsync(factory, t, model);

        Assert.Contains("You are the receptionist of Studio Lumière.", system);
        Assert.Contains("As soon as you know the need and a callback number", system);
        Assert.Contains("An emergency (an urgent matter that cannot wait, a danger to someone's health or safety) is urgent: capture the lead at once, someone from our team is texted.", system);
        Assert.All(PlumbingWords, w => Assert.DoesNotContain(w, system, StringComparison.OrdinalIgnoreCase));
        Assert.All(PlumbingWords, w => Assert.DoesNotContain(w, tools, StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("dental-clinic", "toothache", "the person on call")]
    [InlineData("Dental-Clinic", "toothache", "the person on call")]
    [InlineData("notary", "funds transfer due today", "someone from our team")]
    [InlineData("Yoga studio", "an urgent matter", "someone from our team")] // free text the gallery does not know
    [InlineData(null, "an urgent matter", "someone from our team")]
    public void APhoneCallsInstructionsFollowTheBusinessToo(string? industry, string example, string onCall)
    {
        var rules = new AssistantTemplateCatalog().UrgencyRulesFor(industry);
        var wording = BusinessWording.For(industry, rules);

        var instructions = RealtimeProtocol.Instructions(null, "Entreprise Nord", ["fr-CA", "en-US"], "fr-CA", "+15145550142", "Monday 2026-12-07 10:00", wording, rules);
        var tools = ToolRegistry.Definitions(wording).ToJsonString();

        Assert.StartsWith("You are the receptionist of Entreprise Nord.", instructions);
        Assert.Contains(example, instructions);
        Assert.Contains($"{onCall} is texted", instructions);
        Assert.EndsWith("When the caller presses phone keys you receive a message starting with [DTMF].", instructions);
        Assert.All(PlumbingWords, w => Assert.DoesNotContain(w, instructions, StringComparison.OrdinalIgnoreCase));
        Assert.All(PlumbingWords, w => Assert.DoesNotContain(w, tools, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void AnElectriciansCallIsToldOfSparksAndTheOnCallElectricianWithTradeTools()
    {
        var rules = new AssistantTemplateCatalog().UrgencyRulesFor("electrician");
        var wording = BusinessWording.For("electrician", rules);

        var instructions = RealtimeProtocol.Instructions(null, "Électricité Nord", ["fr-CA"], "fr-CA", null, "Monday 2026-12-07 10:00", wording, rules);

        Assert.Contains("An emergency (sparks, a burning smell, smoke from the panel, a hot outlet, a power outage) is urgent: capture the lead at once, the on-call electrician is texted.", instructions);
        Assert.DoesNotContain("pipe", instructions, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("\"Service address\"", ToolRegistry.Definitions(wording).ToJsonString());
    }

    [Fact]
    public void APhoneCallToAPlumberWithNoRecordedIndustryIsToldOfPlumbingEmergencies()
    {
        var wording = BusinessWording.For(null, UrgencyRules.Plumbing);

        var instructions = RealtimeProtocol.Instructions(null, "Drain Fortin", ["fr-CA", "en-US"], "fr-CA", null, "Monday 2026-12-07 10:00", wording, UrgencyRules.Plumbing);

        Assert.Contains("Call capture_lead as soon as you know the caller's problem and a callback number, and again when you learn more.", instructions);
        Assert.Contains("An emergency (flooding, sewer backup, burst or frozen pipe, no water) is urgent", instructions);
        Assert.Contains("\"Service address\"", ToolRegistry.Definitions(wording).ToJsonString());
    }
}
