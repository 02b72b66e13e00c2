using Switchboard.Tenancy;

namespace Switchboard.Brain;

/// <summary>
/// What the chat and voice model is told about a business of one industry, in English (the language of every model prompt:
/// the model answers in the visitor's or caller's language). <c>Need</c>: what a visitor brings ("problem" for a trade,
/// "need" elsewhere: a cleaning is not a problem); <c>OnCall</c>: who is texted about an emergency; <c>Emergencies</c>:
/// examples of an emergency for this kind of business; <c>Soon</c>: examples of what must be handled first without being an
/// emergency (the trades whose template cues are soon-level: notary, real estate, salon, restaurant), or null;
/// <c>AddressHint</c> and <c>TimelineHint</c>: the <c>capture_lead</c> descriptions of <c>address</c> and <c>timeline</c>.
/// The offline receptionist's counterpart is <see cref="ReceptionistLanguage.ForIndustry"/>.
/// </summary>
internal sealed record BusinessWording(
    string Key, string Need, string OnCall, string Emergencies, string? Soon, string AddressHint, string TimelineHint)
{
    private const string TradeAddress = "Service address";
    private const string TradeTimeline = "When the work is wanted (now, this week, later)";
    private const string Address = "The caller's address, if they give one";
    private const string Timeline = "When it is needed (now, this week, later)";
    private const string UrgentMatter = "an urgent matter that cannot wait, a danger to someone's health or safety";

    /// <summary>
    /// A business with no recorded industry, or one this table does not know (a yoga studio, an accountant): nothing about a
    /// trade, "someone from our team" is texted about "an urgent matter".
    /// </summary>
    public static readonly BusinessWording Neutral = new("neutral", "need", "someone from our team", UrgentMatter, null, Address, Timeline);

    /// <summary>
    /// One row per template trade of the onboarding (<c>assistant-templates.json</c>, the values <c>TenantAccount.Industry</c>
    /// takes from the gallery), matched case-insensitively. Plumbing is the wording the web chat always had (Drain Fortin's).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, BusinessWording> ByIndustry = new BusinessWording[]
    {
        new("plumbing", "problem", "the on-call staff", "flooding, sewer backup, burst or frozen pipe, no water", null, TradeAddress, TradeTimeline),
        new("hvac", "problem", "the on-call technician", "no heat in cold weather, a furnace that stopped, a smell of gas, a carbon monoxide alarm", null, TradeAddress, TradeTimeline),
        new("electrician", "problem", "the on-call electrician", "sparks, a burning smell, smoke from the panel, a hot outlet, a power outage", null, TradeAddress, TradeTimeline),
        new("locksmith", "problem", "the on-call locksmith", "locked out, a child or a pet locked inside, a break-in, a door that will not lock", null, TradeAddress, TradeTimeline),
        new("roofing", "problem", "the on-call roofer", "water coming through the ceiling, a roof torn off, a tree on the roof, an ice dam leak", null, TradeAddress, TradeTimeline),
        new("dental-clinic", "need", "the person on call", "a severe toothache, a swollen face, a knocked-out or broken tooth, bleeding that will not stop", null, Address, Timeline),
        new("veterinary-clinic", "need", "the person on call", "an animal that cannot breathe, a seizure, a poisoning (chocolate, medication), a serious injury", null, Address, Timeline),
        new("law-firm", "need", "someone from our team", "an arrest or a detention, a court date tomorrow, a legal deadline this week", null, Address, Timeline),
        new("notary", "need", "someone from our team", UrgentMatter, "a signing or a closing within days, a funds transfer due today, a document missing for a deed", Address, Timeline),
        new("real-estate", "need", "someone from our team", UrgentMatter, "an offer to make today, a visit today, a promise-to-purchase deadline, an inspection tomorrow", Address, Timeline),
        new("hair-salon", "need", "someone from our team", UrgentMatter, "a same-day cancellation, a client running late, a wedding this weekend", Address, Timeline),
        new("restaurant", "need", "someone from our team", UrgentMatter, "a table for tonight, a large group, a cancellation for tonight", Address, Timeline),
    }.ToDictionary(w => w.Key, StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The wording for a business that recorded <paramref name="industry"/> (<c>TenantAccount.Industry</c>, free text up to 100
    /// characters) and classifies urgency with <paramref name="rules"/>. An unrecorded industry is read from the rules: a
    /// business whose rules hold every built-in plumbing cue (<see cref="UrgencyRules.Plumbing"/>: Drain Fortin, seeded with no
    /// industry) is a plumber; any other unrecorded or unknown industry gets <see cref="Neutral"/>.
    /// </summary>
    public static BusinessWording For(string? industry, UrgencyRules rules)
    {
        if (!string.IsNullOrWhiteSpace(industry))
        {
            return ByIndustry.GetValueOrDefault(industry.Trim(), Neutral);
        }
        var own = new HashSet<string>(rules.Emergency, StringComparer.OrdinalIgnoreCase);
        return UrgencyRules.Plumbing.Emergency.All(own.Contains) ? ByIndustry["plumbing"] : Neutral;
    }

    /// <summary>
    /// The business's own emergency cues (at most <paramref name="max"/>, in the rules' order): those of
    /// <paramref name="rules"/> that are neither generic (<see cref="UrgencyRules.Generic"/>, safety cues included) nor the
    /// built-in plumbing matching aids (<see cref="UrgencyRules.Plumbing"/>: word fragments such as "a pete"); for a business
    /// onboarded from a template, its trade's cues in English and French ("severe toothache", "dent cassée"). Cues holding the
    /// <c>...</c> wildcard are left out.
    /// </summary>
    public static IReadOnlyList<string> OwnEmergencyCues(UrgencyRules rules, int max = 16)
    {
        var builtIn = new HashSet<string>(UrgencyRules.Generic.Emergency.Concat(UrgencyRules.Plumbing.Emergency), StringComparer.OrdinalIgnoreCase);
        // "knocked ... tooth" is matching syntax (up to three words in between), not an example a model should read.
        return [.. rules.Emergency.Where(c => !builtIn.Contains(c) && !c.Contains("...", StringComparison.Ordinal)).Distinct(StringComparer.OrdinalIgnoreCase).Take(max)];
    }

    /// <summary>
    /// The prompt lines about leads and urgency for <paramref name="businessName"/>: when to call <c>capture_lead</c>
    /// (<paramref name="captureLine"/> with <c>{0}</c> standing for <see cref="Need"/>), what an emergency is for this business
    /// (<see cref="Emergencies"/>, then the business's own cues: <see cref="OwnEmergencyCues"/>), and what is soon-needed.
    /// Lines end with a newline.
    /// </summary>
    public string UrgencyLines(string businessName, UrgencyRules rules, string captureLine)
    {
        var lines = new System.Text.StringBuilder();
        lines.Append(string.Format(System.Globalization.CultureInfo.InvariantCulture, captureLine, Need)).Append('\n');
        lines.Append($"An emergency ({Emergencies}) is urgent: capture the lead at once, {OnCall} is texted.\n");
        if (OwnEmergencyCues(rules) is { Count: > 0 } own)
        {
            lines.Append($"{businessName} also treats these as emergencies: {string.Join(", ", own)}.\n");
        }
        if (Soon is not null)
        {
            lines.Append($"Not an emergency but to be handled first (urgency soon): {Soon}.\n");
        }
        return lines.ToString();
    }
}
