using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Brain;
using Switchboard.Templates;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Widget;

/// <summary>
/// The offline receptionist's wording fits the business's recorded industry: a dental clinic or a hair salon hears of
/// "the person on call" and is asked for "your address"; a plumber keeps "the on-call technician" and "the address of the job".
/// </summary>
[Trait("Category", "Database")]
public sealed class WebChatIndustryTests(WidgetFactory factory) : IClassFixture<WidgetFactory>
{
    /// <summary>Trade words no business outside the field trades should hear, in each language.</summary>
    private static readonly string[] TradeWords =
        ["technician", "of the job", "technicien", "des travaux", "técnico", "hay que hacer el trabajo", "Techniker", "arbeiten",
         "الفني", "مكان العمل", "הטכנאי", "של העבודה"];

    /// <summary>A widget tenant whose owner chose <paramref name="industry"/> at onboarding: the industry and its trade's urgency rules.</summary>
    private async Task<WidgetTenant> TenantAsync(string name, string industry)
    {
        var t = await factory.CreateWidgetTenantAsync(name);
        var rules = factory.Services.GetRequiredService<AssistantTemplateCatalog>().UrgencyRulesFor(industry);
        await factory.WithDbAsync(t.Id, async db =>
        {
            (await db.TenantAccounts.SingleAsync(a => a.TenantId == t.Id)).Industry = industry;
            (await db.Tenants.SingleAsync(x => x.Id == t.Id)).UrgencyRules = rules;
            return await db.SaveChangesAsync();
        });
        return t;
    }

    [Theory]
    [InlineData("en", "Emergency, my son's tooth got knocked out! Call me at 514 555 0142", "Anna Lee",
        "This is an emergency: the person on call is being texted right now.", "The person on call will call you at (514) 555-0142", "What is your address?")]
    [InlineData("fr", "Urgence, mon fils a une dent cassée et ça saigne, rappelez-moi au 514 555 0142", "Marie Tremblay",
        "C'est une urgence : la personne de garde est prévenue par texto immédiatement.", "La personne de garde vous rappelle au 514 555-0142", "Quelle est votre adresse ?")]
    public async Task ADentalClinicsEmergencyChatSpeaksOfThePersonOnCallNotATechnician(
        string language, string message, string name, string alerted, string next, string askAddress)
    {
        var t = await TenantAsync("Clinique Dentaire Sourire " + language, "dental-clinic");
        var visitor = new Visitor(factory.Browser(), t);
        await visitor.StartAsync(language: language);

        var first = await visitor.SayAsync(message);
        var second = await visitor.SayAsync(name);
        var third = await visitor.SayAsync("12 rue Principale, Laval");

        Assert.Equal("emergency", first.Lead!["urgency"]!.GetValue<string>());
        Assert.Contains(alerted, first.Text);
        Assert.Contains(askAddress, second.Text);
        Assert.Contains(next, third.Text);
        var said = string.Join("\n", first.Text, second.Text, third.Text);
        Assert.All(TradeWords, w => Assert.DoesNotContain(w, said, StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("en", "Hello", "How can I help? Tell me briefly what you need.", "I'd like to book a cleaning.", "Anna Lee", "What is your address?")]
    [InlineData("fr", "Bonjour", "Comment puis-je vous aider ? Dites-moi en quelques mots ce dont vous avez besoin.",
        "J'aimerais prendre rendez-vous pour un nettoyage.", "Marie Tremblay", "Quelle est votre adresse ?")]
    public async Task ADentalClinicsRoutineChatAsksForWhatIsNeededAndTheAddressWithoutTradeWords(
        string language, string hello, string askNeed, string need, string name, string askAddress)
    {
        var t = await TenantAsync("Dentiste Laval " + language, "dental-clinic");
        var visitor = new Visitor(factory.Browser(), t);
        await visitor.StartAsync(language: language);

        var replies = new List<string>();
        foreach (var text in new[] { hello, need, name, "514 555 0142", "12 rue Principale, Laval" })
        {
            replies.Add((await visitor.SayAsync(text)).Text);
        }

        Assert.EndsWith(askNeed, replies[0]);
        Assert.EndsWith(askAddress, replies[3]);
        Assert.All(TradeWords, w => Assert.DoesNotContain(w, string.Join("\n", replies), StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain("problem", replies[0], StringComparison.OrdinalIgnoreCase); // a cleaning is not a problem
        var lead = await factory.WithDbAsync(t.Id, db => db.Leads.SingleAsync());
        Assert.Equal(("+15145550142", "12 rue Principale, Laval"), (lead.Phone, lead.Address));
    }

    [Fact]
    public async Task APlumbersChatKeepsItsTradeWording()
    {
        var t = await TenantAsync("Drain Fortin Plomberie", "plumbing");
        var visitor = new Visitor(factory.Browser(), t);
        await visitor.StartAsync(language: "fr");

        var first = await visitor.SayAsync("Mon sous-sol est inondé, rappelez-moi au 514 555 0142");
        var second = await visitor.SayAsync("Marie Tremblay");
        var third = await visitor.SayAsync("123 rue Principale, Laval");

        Assert.Contains("C'est une urgence : le technicien de garde est prévenu par texto immédiatement.", first.Text);
        Assert.EndsWith("Quelle est l'adresse des travaux ?", second.Text);
        Assert.StartsWith("Merci. Le technicien de garde vous rappelle au 514 555-0142 dans les prochaines minutes.", third.Text);
    }

    [Fact]
    public async Task ABusinessWithNoIndustryAndNoTradesRulesHearsNoTradeWords()
    {
        // Signed up but not onboarded (or made by an operator): no industry, the generic rules. It used to hear of "the on-call
        // technician" and "the address of the job" whatever it does.
        var t = await factory.CreateWidgetTenantAsync("Studio Lumière");
        await factory.WithDbAsync(t.Id, async db =>
        {
            Assert.Null((await db.TenantAccounts.SingleAsync(a => a.TenantId == t.Id)).Industry);
            (await db.Tenants.SingleAsync(x => x.Id == t.Id)).UrgencyRules = UrgencyRules.Generic;
            return await db.SaveChangesAsync();
        });
        var visitor = new Visitor(factory.Browser(), t);
        await visitor.StartAsync(language: "fr");

        var first = await visitor.SayAsync("Urgence, il y a une fuite de gaz, rappelez-moi au 514 555 0142");
        var second = await visitor.SayAsync("Marie Tremblay");
        var third = await visitor.SayAsync("12 rue Principale, Laval");

        Assert.Equal("emergency", first.Lead!["urgency"]!.GetValue<string>());
        Assert.Contains("C'est une urgence : la personne de garde est prévenue par texto immédiatement.", first.Text);
        Assert.Contains("Quelle est votre adresse ?", second.Text);
        Assert.Contains("La personne de garde vous rappelle au 514 555-0142", third.Text);
        var said = string.Join("\n", first.Text, second.Text, third.Text);
        Assert.All(TradeWords, w => Assert.DoesNotContain(w, said, StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("plumbing")]
    [InlineData("HVAC")]
    [InlineData("locksmith")]
    public void FieldTradesAndAnUnrecordedIndustryWithAPlumbersRulesKeepTheTradeWording(string? industry) =>
        Assert.All(ReceptionistLanguage.All.Values, l => Assert.Same(l, l.ForIndustry(industry, UrgencyRules.Plumbing)));

    [Theory]
    [InlineData(null)]
    [InlineData("  ")]
    public void AnUnrecordedIndustryWithOtherRulesGetsTradeNeutralWordingInEveryLanguage(string? industry)
    {
        foreach (var l in ReceptionistLanguage.All.Values)
        {
            var n = l.ForIndustry(industry, UrgencyRules.Generic);
            var said = string.Join("\n", n.EmergencyAlerted, n.StillAlerting, n.EmergencyPending, n.AskProblem, n.AskAddress, n.NextEmergency("+15145550142"), n.NextEmergency(null));
            Assert.All(TradeWords, w => Assert.DoesNotContain(w, said, StringComparison.OrdinalIgnoreCase));
            Assert.Equal(n.EmergencyAlerted, l.ForIndustry("dental-clinic", UrgencyRules.Generic).EmergencyAlerted); // the one neutral wording
        }
    }

    [Theory]
    [InlineData("dental-clinic")]
    [InlineData("hair-salon")]
    [InlineData("notary")]
    [InlineData("Yoga studio")] // free text the gallery does not know: neutral words are never wrong
    public void EveryOtherBusinessGetsTradeNeutralWordingInEveryLanguage(string industry)
    {
        foreach (var l in ReceptionistLanguage.All.Values)
        {
            var n = l.ForIndustry(industry, UrgencyRules.Plumbing); // a recorded industry decides, whatever the rules
            var said = string.Join("\n", n.EmergencyAlerted, n.StillAlerting, n.EmergencyPending, n.AskProblem, n.AskAddress, n.NextEmergency("+15145550142"), n.NextEmergency(null));
            Assert.All(TradeWords, w => Assert.DoesNotContain(w, said, StringComparison.OrdinalIgnoreCase));
            Assert.Contains(l.Code is "ar" or "he" ? "\u2066+15145550142\u2069" : "+15145550142", n.NextEmergency("+15145550142"));
            Assert.Equal((l.AskName, l.AskPhone, l.Intro("X", true)), (n.AskName, n.AskPhone, n.Intro("X", true))); // the rest is shared
        }
    }
}
