using System.Net;
using Microsoft.EntityFrameworkCore;
using Switchboard.Brain;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Widget;

/// <summary>The offline receptionist in each of the widget's six languages: emergencies, hours, the questions, what happens next.</summary>
[Trait("Category", "Database")]
public sealed class WebChatLanguageTests(WidgetFactory factory) : IClassFixture<WidgetFactory>
{
    /// <summary>An emergency with a callback number, and what the receptionist must say back in that language.</summary>
    public static TheoryData<string, string, string, string, string> Emergencies => new()
    {
        { "en", "My basement is flooded, please call me at 514 555 0142", "This is an emergency", "May I have your name?", "The on-call technician will call you" },
        { "fr", "Mon sous-sol est inondé, rappelez-moi au 514 555 0142", "C'est une urgence", "Quel est votre nom ?", "Le technicien de garde vous rappelle" },
        { "es", "Mi sótano está inundado, llámeme al 514 555 0142", "Es una emergencia", "¿Cuál es su nombre?", "El técnico de guardia le llamará" },
        { "de", "Mein Keller ist überschwemmt, rufen Sie mich an: 514 555 0142", "Das ist ein Notfall", "Wie ist Ihr Name?", "Der Techniker im Bereitschaftsdienst ruft Sie" },
        { "ar", "الطابق السفلي غارق بالمياه! اتصلوا بي على 514 555 0142", "هذه حالة طارئة", "ما اسمك؟", "سيتصل بك الفني المناوب" },
        { "he", "המרתף שלי מוצף במים! תתקשרו אליי 514 555 0142", "זה מקרה חירום", "מה השם שלכם?", "הטכנאי התורן יתקשר אליכם" },
    };

    [Theory]
    [MemberData(nameof(Emergencies))]
    public async Task AnEmergencyIsDetectedAndAnsweredInTheVisitorsLanguage(string language, string message, string emergency, string askName, string next)
    {
        var t = await factory.CreateWidgetTenantAsync("Drain " + language);
        var visitor = new Visitor(factory.Browser(), t);
        Assert.Equal(HttpStatusCode.Created, (await visitor.StartAsync(language: language)).StatusCode);

        var first = await visitor.SayAsync(message);

        Assert.Equal("emergency", first.Lead!["urgency"]!.GetValue<string>());
        Assert.True(first.Lead!["staffAlerted"]!.GetValue<bool>());
        Assert.Contains(emergency, first.Text);
        Assert.Contains(askName, first.Text);
        Assert.Equal(ReceptionistLanguage.For(language).Intro("Drain " + language, true).Trim()[..10], first.Text[..10]);
        if (language != "en")
        {
            Assert.DoesNotContain("emergency", first.Text, StringComparison.OrdinalIgnoreCase);
        }

        var second = await visitor.SayAsync(language switch { "ar" => "سارة حداد", "he" => "דנה כהן", _ => "Marie Tremblay" });
        Assert.Contains(ReceptionistLanguage.For(language).AskAddress, second.Text);
        var third = await visitor.SayAsync("123 rue Principale, Laval");
        Assert.Contains(next, third.Text);
        // The number as a person writes it in that language, not as it is stored (+15145550142).
        Assert.Contains(language == "fr" ? "514 555-0142" : "(514) 555-0142", third.Text);
        Assert.DoesNotContain("+15145550142", third.Text);
        Assert.EndsWith(ReceptionistLanguage.For(language).ShutOffWater, third.Text); // a flood: the water valve

        await factory.WithDbAsync(t.Id, async db =>
        {
            var call = await db.Calls.SingleAsync(c => c.Channel == "web");
            var lead = await db.Leads.SingleAsync(l => l.CallId == call.Id);
            Assert.Equal(("emergency", "+15145550142", "123 rue Principale, Laval"), (lead.Urgency, lead.Phone, lead.Address));
            Assert.Equal("+15145550111", (await db.SmsMessages.SingleAsync(s => s.CallId == call.Id)).To);
            return 0;
        });
    }

    [Fact]
    public async Task AnEmergencyThatIsNotAboutWaterGetsNoWaterValveAdvice()
    {
        var t = await factory.CreateWidgetTenantAsync("Serrurier Nord");
        var visitor = new Visitor(factory.Browser(), t);
        await visitor.StartAsync(language: "fr");

        var first = await visitor.SayAsync("C'est une urgence, je suis barré dehors avec mon bébé à l'intérieur, rappelez-moi au 514 555 0142");
        Assert.Equal("emergency", first.Lead!["urgency"]!.GetValue<string>());
        await visitor.SayAsync("Marie Tremblay");
        var last = await visitor.SayAsync("123 rue Principale, Laval");

        Assert.Contains("Le technicien de garde vous rappelle au 514 555-0142", last.Text);
        Assert.DoesNotContain(ReceptionistLanguage.For("fr").ShutOffWater, last.Text);
        Assert.DoesNotContain("plombier", last.Text + first.Text);
    }

    [Fact]
    public async Task ANameGivenWithTheNumberKeepsBothAndTheVisitorsLanguageStays()
    {
        var t = await factory.CreateWidgetTenantAsync("חשמל כהן");
        var visitor = new Visitor(factory.Browser(), t);
        await visitor.StartAsync(language: "he");
        var en = ReceptionistLanguage.For("en");

        await visitor.SayAsync("Hi, I would like a quote to install an EV charger in my garage");
        var afterName = await visitor.SayAsync("Marco Rossi, 647 555 0100");
        var afterAddress = await visitor.SayAsync("054-555-0111"); // only a number: still English

        Assert.Contains(en.AskAddress, afterName.Text);
        Assert.Equal("en", OfflineReceptionist.DetectLanguage(afterAddress.Text));
        var lead = await factory.WithDbAsync(t.Id, db => db.Leads.SingleAsync());
        Assert.Equal(("Marco Rossi", "+16475550100"), (lead.Name, lead.Phone)); // captured with the number, before the visitor left
    }

    [Fact]
    public async Task ADentalEmergencyWithWaterInItGetsNoWaterValveAdvice()
    {
        var t = await factory.CreateWidgetTenantAsync("Smile Bright Dental");
        var visitor = new Visitor(factory.Browser(), t);
        await visitor.StartAsync(language: "en");

        var first = await visitor.SayAsync("Emergency, my son's tooth got knocked out and I put it in water. Call me at 416 555 0123");
        await visitor.SayAsync("Anna Lee");
        var last = await visitor.SayAsync("12 Queen St W, Toronto");

        Assert.Equal("emergency", first.Lead!["urgency"]!.GetValue<string>());
        Assert.DoesNotContain(ReceptionistLanguage.For("en").ShutOffWater, first.Text + last.Text);
    }

    [Fact]
    public async Task AnAnswerGivenOutOfTurnLandsInItsOwnField()
    {
        var t = await factory.CreateWidgetTenantAsync("Plomberie Hors Tour");
        var visitor = new Visitor(factory.Browser(), t);
        await visitor.StartAsync(language: "fr");
        var words = ReceptionistLanguage.For("fr");

        await visitor.SayAsync("Mon chauffe-eau coule un peu, rappelez-moi au 514 555 0142");
        // Asked for the name, the visitor gives the address: it is the address, and the name is asked again.
        var afterAddress = await visitor.SayAsync("1234 boul. des Laurentides, Laval");
        Assert.Contains(words.AskName, afterAddress.Text);
        var done = await visitor.SayAsync("Marie Tremblay");
        Assert.DoesNotContain(words.AskAddress, done.Text);

        await factory.WithDbAsync(t.Id, async db =>
        {
            var lead = await db.Leads.SingleAsync();
            Assert.Equal(("Marie Tremblay", "1234 boul. des Laurentides, Laval", "+15145550142"), (lead.Name, lead.Address, lead.Phone));
            return 0;
        });

        // An emergency without a number: asked for it, the visitor gives the name; it is kept, and the number asked again.
        var other = new Visitor(factory.Browser(), t);
        await other.StartAsync(language: "en");
        var asked = await other.SayAsync("Water is pouring from the ceiling, emergency!");
        Assert.Contains(ReceptionistLanguage.For("en").AskPhone, asked.Text);
        var named = await other.SayAsync("Paul Gagnon");
        Assert.Contains(ReceptionistLanguage.For("en").AskPhoneAgain, named.Text);
        await other.SayAsync("514 555 0177");
        await factory.WithDbAsync(t.Id, async db =>
        {
            var lead = await db.Leads.SingleAsync(l => l.Phone == "+15145550177");
            Assert.Equal(("Paul Gagnon", "emergency"), (lead.Name, lead.Urgency));
            return 0;
        });

        Assert.True(OfflineReceptionist.LooksLikeAddress("45B Elm St"));
        Assert.True(OfflineReceptionist.LooksLikeAddress("rue Principale 12"));
        Assert.False(OfflineReceptionist.LooksLikeAddress("Marie Tremblay"));
        Assert.False(OfflineReceptionist.LooksLikeAddress("2 toilettes bouchées"));
        Assert.True(OfflineReceptionist.LooksLikeName("Jean-François O'Neil"));
        Assert.False(OfflineReceptionist.LooksLikeName("12 rue Principale"));
        Assert.False(OfflineReceptionist.LooksLikeName("non"));
    }

    /// <summary>A question about opening hours, and the words of the answer.</summary>
    public static TheoryData<string, string, string> HoursQuestions => new()
    {
        { "en", "What are your opening hours?", "Our hours:" },
        { "fr", "Quelles sont vos heures d'ouverture?", "Nos heures :" },
        { "es", "¿Cuál es su horario?", "Nuestro horario:" },
        { "de", "Wann haben Sie geöffnet?", "Unsere Öffnungszeiten:" },
        { "ar", "ما هي ساعات العمل لديكم؟", "ساعات العمل:" },
        { "he", "מה שעות הפתיחה שלכם?", "שעות הפעילות שלנו:" },
    };

    [Theory]
    [MemberData(nameof(HoursQuestions))]
    public async Task OpeningHoursAreAnsweredInTheVisitorsLanguageThenTheProblemIsAsked(string language, string question, string answer)
    {
        var t = await factory.CreateWidgetTenantAsync("Heures " + language);
        var visitor = new Visitor(factory.Browser(), t);
        await visitor.StartAsync(language: language);

        var reply = await visitor.SayAsync(question);

        var words = ReceptionistLanguage.For(language);
        Assert.Contains(answer, reply.Text);
        Assert.Contains(words.CultureInfo.DateTimeFormat.GetDayName(DayOfWeek.Monday), reply.Text);
        Assert.EndsWith(words.AskProblem, reply.Text);
        Assert.Null(reply.Lead);
    }

    [Fact]
    public async Task TheLanguageFollowsTheVisitorsWordsElseTheConversations()
    {
        Assert.Equal("es", OfflineReceptionist.DetectLanguage("Hola, mi sótano está inundado"));
        Assert.Equal("de", OfflineReceptionist.DetectLanguage("Hallo, mein Keller steht unter Wasser"));
        Assert.Equal("ar", OfflineReceptionist.DetectLanguage("مرحبا، عندي تسرب"));
        Assert.Equal("he", OfflineReceptionist.DetectLanguage("שלום, יש לי נזילה"));
        Assert.Equal("fr", OfflineReceptionist.DetectLanguage("Bonjour, mon chauffe-eau fuit"));
        Assert.Equal("en", OfflineReceptionist.DetectLanguage("Hello, my water heater is leaking"));
        Assert.Null(OfflineReceptionist.DetectLanguage("Marie Tremblay"));

        // A name tells nothing: the conversation's language (Spanish) is kept.
        var t = await factory.CreateWidgetTenantAsync("Idioma");
        var visitor = new Visitor(factory.Browser(), t);
        await visitor.StartAsync(language: "es");
        var greeting = await visitor.SayAsync("Hola");
        Assert.StartsWith("Está escribiendo al asistente automático de Idioma", greeting.Text);
        Assert.EndsWith("¿En qué podemos ayudarle? Cuénteme el problema.", greeting.Text);
        var name = await visitor.SayAsync("Gotera en el baño, me llamo Ana López");
        Assert.Contains("¿A qué número podemos devolverle la llamada?", name.Text);
        var fallback = await visitor.SayAsync("Ana");
        Assert.Contains("No reconocí ningún número", fallback.Text);
    }
}
