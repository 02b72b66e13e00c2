using Switchboard.Assistants;

namespace Switchboard.Tenancy;

/// <summary>A business served by this installation. Every tenant-owned row carries its <see cref="Id"/>.</summary>
internal sealed class Tenant
{
    public Guid Id { get; set; }
    public required string Name { get; set; }

    /// <summary>IANA time zone id, e.g. <c>America/Toronto</c>.</summary>
    public required string TimeZone { get; set; }

    /// <summary>BCP 47 locale of staff-facing text (SMS alerts), e.g. <c>fr-CA</c>.</summary>
    public required string Locale { get; set; }

    /// <summary>Weekly opening hours in <see cref="TimeZone"/>.</summary>
    public BusinessHours BusinessHours { get; set; } = BusinessHours.Default;

    /// <summary>Who is texted, and when, about leads and emergencies.</summary>
    public AlertPolicy AlertPolicy { get; set; } = new();

    /// <summary>Cues that set a lead's urgency when the caller's words are read.</summary>
    public UrgencyRules UrgencyRules { get; set; } = UrgencyRules.Generic;

    /// <summary>Shared secret for the Vapi webhook (x-vapi-secret, bearer, or HMAC key), encrypted with Data Protection.</summary>
    public required string VapiWebhookSecretProtected { get; set; }

    /// <summary>Header carrying the HMAC-SHA256 signature; <c>x-vapi-signature</c> in Paul's contract.</summary>
    public string VapiSignatureHeader { get; set; } = "x-vapi-signature";

    /// <summary>When set, the HMAC covers <c>{timestamp}.{body}</c> and the timestamp must fall in the replay window.</summary>
    public string? VapiTimestampHeader { get; set; }

    /// <summary>Twilio account used to send SMS alerts. Null means SMS are recorded as simulated.</summary>
    public string? TwilioAccountSid { get; set; }

    /// <summary>Twilio auth token, encrypted with Data Protection.</summary>
    public string? TwilioAuthTokenProtected { get; set; }

    /// <summary>
    /// The tenant's explicit SMS sender, set with the Twilio credentials: an E.164 number or a Messaging Service SID
    /// (<c>MG</c> + 32 hex). When null, SMS go out from an attached number that can send SMS (see <c>SmsSenderResolver</c>).
    /// </summary>
    public string? TwilioFromNumber { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    // Native voice (Twilio Media Streams bridged to a realtime speech model); migration 0003.

    /// <summary>Outside business hours: <c>answer</c> (the assistant answers), <c>message</c> (take a recorded message) or <c>polite</c> (a short notice, then hang up).</summary>
    public string VoiceAfterHours { get; set; } = VoiceBehaviour.Answer;

    /// <summary>Over the plan's concurrent-call limit: <c>message</c> or <c>polite</c>.</summary>
    public string VoiceOverLimit { get; set; } = VoiceBehaviour.Message;

    /// <summary>Longest native call, in seconds; the assistant then says goodbye and hangs up.</summary>
    public int VoiceMaxCallSeconds { get; set; } = 900;

    /// <summary>WebSocket URL of the realtime speech provider (OpenAI Realtime GA protocol); the platform default when null.</summary>
    public string? RealtimeBaseUrl { get; set; }

    /// <summary>The provider's API key, encrypted with Data Protection; the platform key when null.</summary>
    public string? RealtimeApiKeyProtected { get; set; }
}

/// <summary>What a native call gets when the assistant does not answer it (after hours, over the limit, provider down).</summary>
internal static class VoiceBehaviour
{
    /// <summary>The assistant answers (after hours only).</summary>
    public const string Answer = "answer";

    /// <summary>A notice, then the caller's message is recorded (<c>&lt;Record&gt;</c>).</summary>
    public const string Message = "message";

    /// <summary>A polite notice (<c>&lt;Say&gt;</c>), then <c>&lt;Hangup&gt;</c>.</summary>
    public const string Polite = "polite";
}

/// <summary>Opening hours per weekday as <c>HH:mm-HH:mm</c> ranges in the tenant's zone; a missing day is closed.</summary>
internal sealed record BusinessHours
{
    public static BusinessHours Default => new()
    {
        Weekly = new Dictionary<DayOfWeek, List<string>>
        {
            [DayOfWeek.Monday] = ["08:00-17:00"],
            [DayOfWeek.Tuesday] = ["08:00-17:00"],
            [DayOfWeek.Wednesday] = ["08:00-17:00"],
            [DayOfWeek.Thursday] = ["08:00-17:00"],
            [DayOfWeek.Friday] = ["08:00-17:00"],
        },
    };

    public Dictionary<DayOfWeek, List<string>> Weekly { get; init; } = [];

    /// <summary>Closed dates (<c>yyyy-MM-dd</c>, in the tenant's zone).</summary>
    public List<string> Holidays { get; init; } = [];
}

/// <summary>The SMS alert policy of a tenant.</summary>
internal sealed record AlertPolicy
{
    /// <summary>E.164 numbers texted about emergencies at any hour.</summary>
    public List<string> OnCallNumbers { get; init; } = [];

    /// <summary>E.164 numbers texted about non-urgent leads; falls back to <see cref="OnCallNumbers"/> when empty.</summary>
    public List<string> OfficeNumbers { get; init; } = [];

    /// <summary>Non-urgent leads: <c>business-hours</c> (sent now when open, else held until the next opening) or <c>none</c>.</summary>
    public string NonUrgentDelivery { get; init; } = "business-hours";

    /// <summary>Language of the SMS text; the tenant's locale when null.</summary>
    public string? Language { get; init; }

    /// <summary>
    /// The policy that applies to a conversation the <paramref name="assistant"/> takes: the assistant's own policy over the
    /// business's, list by list. An assistant's empty on-call or office list inherits the business's (an outside probe: the
    /// studio form saved <c>"onCallNumbers": []</c> for an assistant that had inherited them, and emergencies stopped being
    /// texted while the caller was told the plumber was alerted); its delivery rule and language are its own, the language
    /// falling back to the business's.
    /// </summary>
    public static AlertPolicy For(Tenant tenant, Assistant? assistant) => assistant?.AlertPolicy is not { } own ? tenant.AlertPolicy : new AlertPolicy
    {
        OnCallNumbers = own.OnCallNumbers.Count > 0 ? own.OnCallNumbers : tenant.AlertPolicy.OnCallNumbers,
        OfficeNumbers = own.OfficeNumbers.Count > 0 ? own.OfficeNumbers : tenant.AlertPolicy.OfficeNumbers,
        NonUrgentDelivery = own.NonUrgentDelivery,
        Language = own.Language ?? tenant.AlertPolicy.Language,
    };
}

/// <summary>
/// Phrases that mark a caller's need as an emergency or as soon-needed. Matching ignores case, accents and
/// apostrophe style, respects word boundaries, and skips a cue preceded by a negation ("no flooding", "pas d'inondation").
/// </summary>
internal sealed record UrgencyRules
{
    public List<string> Emergency { get; init; } = [];
    public List<string> Soon { get; init; } = [];

    public static UrgencyRules Generic => new()
    {
        // A flood, a fire or a gas leak is an emergency whatever the trade (a business signed up but not yet onboarded has
        // these rules: "My basement is flooding!" was routine there).
        Emergency = ["emergency", "urgent", "urgence", "911", "danger", "flood", "flooding", "flooded", "inondation", "inonde", "inondee", .. SafetyCues],
        Soon = ["as soon as possible", "asap", "today", "aujourd'hui", "des que possible", "rapidement"],
    };

    /// <summary>
    /// A gas smell, a fire, sparks or a burning smell, carbon monoxide: an emergency for any business, in the six languages
    /// the receptionist speaks (an outside probe: "יש ריח חזק של גז", "huele mucho a gas" and sparks from an outlet in Hebrew
    /// were routine, held until the next opening). <c>...</c> stands for up to three words ("smell ... gas": "smells strongly of
    /// gas"). Smoke counts only as smoke coming out of something: a smoke detector is not an emergency.
    /// </summary>
    public static readonly IReadOnlyList<string> SafetyCues =
    [
        "fire", "gas leak", "gas smell", "smell ... gas", "smells ... gas", "sparks", "sparking", "burning smell", "smell ... burning", "carbon monoxide",
        "smoke coming", "smoke from",
        "incendie", "feu", "fuite de gaz", "odeur ... gaz", "sent le gaz", "etincelles", "odeur de brule", "sent le brule", "monoxyde de carbone", "de la fumee",
        "incendio", "fuego", "fuga de gas", "olor a gas", "huele ... gas", "chispas", "olor a quemado", "huele a quemado", "monoxido de carbono", "sale humo", "hay humo",
        "feuer", "brand", "gasgeruch", "gasleck", "riecht ... gas", "funken", "brandgeruch", "riecht ... verbrannt", "kohlenmonoxid", "rauch",
        "حريق", "نار", "رائحة ... غاز", "تسرب ... غاز", "شرارة", "شرار", "رائحة ... احتراق", "رائحة حريق", "اول اكسيد الكربون", "يخرج دخان", "دخان يخرج", "هناك دخان",
        "שריפה", "אש", "ריח ... גז", "דליפת גז", "ניצוצות", "ריח ... שרוף", "ריח של שריפה", "פחמן חד חמצני", "יש עשן", "עשן יוצא",
    ];

    /// <summary>Plumbing (Drain Fortin): French (Québec) and English cues.</summary>
    public static UrgencyRules Plumbing => new()
    {
        Emergency =
        [
            "inondation", "inonde", "inondee", "degat d'eau", "degats d'eau", "refoulement d'egout", "refoulement",
            "tuyau gele", "tuyaux geles", "tuyau eclate", "tuyau a eclate", "pas d'eau", "plus d'eau", "urgence", "fuite majeure",
            // Québec French as callers say it: "mes tuyaux sont gelés", "un tuyau a pété / a crevé", "j'ai pu d'eau", "le drain
            // refoule", "la cave est pleine d'eau", "de l'eau partout" (an outside probe found each of these routine).
            "gele", "eclate", "a pete", "ont pete", "a creve", "pu d'eau", "refoule", "refoulent", "pleine d'eau", "plein d'eau", "eau partout",
            // More of both, each routine before (an outside probe): "mon sous-sol prend l'eau", "de l'eau qui coule partout", "ça
            // arrose partout", "l'eau rentre dans le sous-sol"; "full of water", "a pipe broke and water is pouring in", "two
            // inches of water on the floor".
            "prend l'eau", "coule partout", "coulent partout", "arrose partout", "eau qui rentre", "eau rentre",
            "flood", "flooding", "flooded", "water damage", "sewer backup", "sewage backup", "burst pipe", "pipe burst",
            "frozen pipe", "frozen pipes", "frozen", "burst", "no water", "water everywhere", "backing up", "emergency",
            "full of water", "broken pipe", "pipe broke", "pipe broken", "pipe ... broke", "water pouring", "pouring water", "inches of water",
            "water coming in", "water all over",
            // A pipe that split or cracked is a burst pipe ("le tuyau a fendu", "le tuyau du lavabo est fissuré", "a cracked
            // pipe"): an outside probe found "Le tuyau a fendu dans la cuisine" routine in the web chat.
            "tuyau ... fendu", "tuyaux ... fendus", "tuyau fendu", "tuyau ... fissure", "tuyaux ... fissures", "tuyau ... casse", "tuyaux ... casses",
            "tuyau ... brise", "tuyaux ... brises", "tuyau ... perce", "tuyau ... creve",
            "cracked pipe", "split pipe", "pipe ... cracked", "pipe ... split", "pipes ... cracked",
        ],
        Soon =
        [
            "fuite", "bouche", "bloque", "toilette bouchee", "drain bouche", "chauffe-eau", "pas d'eau chaude", "plus d'eau chaude", "pu d'eau chaude", "aujourd'hui", "des que possible",
            "leak", "leaking", "clogged", "blocked", "backed up", "water heater", "no hot water", "today", "as soon as possible", "asap",
        ],
    };
}
