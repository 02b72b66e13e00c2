using System.Text.Json;
using Switchboard.Platform.Http;
using Switchboard.Platform.Phones;
using Switchboard.Tenancy;
using Switchboard.Vapi;

namespace Switchboard.Calls;

/// <summary>
/// A lead as read from a conversation, before it is stored. <paramref name="Heard"/>: the fields read from the caller's own
/// words (<see cref="CallerDetails"/>) rather than declared by structured data or a tool; they only fill a stored lead's empty
/// fields (a name the assistant captured during the call is not replaced by the transcript's spelling of it).
/// </summary>
internal sealed record LeadDraft(string? Name, string? Phone, string? Address, string? Problem, string Urgency, string Source,
    HeardFields Heard = HeardFields.None);

/// <summary>The fields of a <see cref="LeadDraft"/> read from the caller's words.</summary>
[Flags]
internal enum HeardFields
{
    /// <summary>Every field was declared (structured data, capture_lead) or is absent.</summary>
    None = 0,

    /// <summary>The name is the one the caller introduced themselves with (<see cref="CallerDetails.StatedName"/>).</summary>
    Name = 1,

    /// <summary>The address is the one the caller stated (<see cref="CallerDetails.StatedAddress"/>).</summary>
    Address = 2,

    /// <summary>
    /// The phone is the caller id, for want of a number the caller gave: it fills an empty phone and never replaces a callback
    /// number captured earlier in the call (an outside probe: a second capture_lead without a phone put the caller id back, and
    /// the on-call plumber was texted it as the "new callback number").
    /// </summary>
    Phone = 4,
}

/// <summary>
/// Derives the lead from what a conversation left behind, most trusted first: the provider's structured data
/// (Vapi <c>analysis.structuredData</c>), then what the assistant captured with the <c>capture_lead</c> tool,
/// then the caller's own words read against the tenant's <see cref="UrgencyRules"/>. The urgency is the
/// highest of what was declared and what the caller's words show: an emergency is never downgraded.
/// </summary>
internal static partial class LeadExtractor
{
    private static readonly string[] NameKeys = ["name", "customerName", "callerName", "fullName", "nom", "clientName"];
    private static readonly string[] PhoneKeys = ["phone", "phoneNumber", "callbackNumber", "callback_number", "callbackPhone", "telephone", "téléphone"];
    private static readonly string[] AddressKeys = ["address", "serviceAddress", "service_address", "adresse"];
    private static readonly string[] ProblemKeys = ["problem", "issue", "description", "reason", "problème", "probleme", "need"];
    private static readonly string[] UrgencyKeys = ["urgency", "urgence", "priority", "isEmergency", "emergency"];

    /// <summary>Reads a lead from a JSON object of fields (structured data or tool arguments).</summary>
    public static LeadDraft? FromFields(JsonElement fields, string source, UrgencyRules rules)
    {
        if (fields.ValueKind != JsonValueKind.Object)
        {
            return null;
        }
        var name = First(fields, NameKeys);
        var phone = First(fields, PhoneKeys);
        var address = First(fields, AddressKeys);
        var problem = First(fields, ProblemKeys);
        var declared = Urgency.Normalize(First(fields, UrgencyKeys));
        if (name is null && phone is null && address is null && problem is null && declared is null)
        {
            return null;
        }
        var detected = UrgencyClassifier.Classify(problem, rules).Urgency;
        return new LeadDraft(name, phone, address, problem, Urgency.Max(declared ?? Urgency.Routine, detected), source);
    }

    /// <summary>
    /// Builds the lead of a finished conversation. <paramref name="callerText"/> is what the caller said
    /// (user turns); <paramref name="captured"/> the latest capture_lead arguments, if any. Returns null when the
    /// conversation shows no caller to call back and nothing they asked for. The callback number is the one captured, else
    /// the one the caller keyed on the phone (<paramref name="keyedNumber"/>, E.164: DTMF digits leave no doubt about what was
    /// heard), else the first one the caller said, else the caller id (<paramref name="customerNumber"/>) in E.164 when it is a phone number
    /// (a trunk may send it national, "(514) 555-0123"; "anonymous" or "restricted" is no callback number), as the capture_lead
    /// tool reads it. A callback number the model captured as
    /// people write it ("(514) 555-0199") is stored in E.164, read in <paramref name="region"/> (the tenant's; see
    /// <see cref="Phones.RegionOf"/>); one that is not a valid number there is kept as said. A name or address neither the
    /// structured data nor the tool gave is read from the caller's words (<see cref="CallerDetails"/>: "c'est Marie Tremblay",
    /// "j'habite au 1234 rue Principale à Laval"), only then (the end-of-call report is on the ingestion hot path), and
    /// flagged in <see cref="LeadDraft.Heard"/>.
    /// </summary>
    public static LeadDraft? FromConversation(
        JsonElement? structuredData, LeadDraft? captured, string? callerText, string? summary, string? customerNumber, UrgencyRules rules,
        string region = Phones.DefaultRegion, string? keyedNumber = null)
    {
        var fromStructured = structuredData is { } sd ? FromFields(sd, "structured-data", rules) : null;
        var detected = UrgencyClassifier.Classify(callerText, rules).Urgency;
        var summaryUrgency = UrgencyClassifier.Classify(summary, rules).Urgency;

        var name = fromStructured?.Name ?? captured?.Name;
        var heard = HeardFields.None;
        if (name is null && CallerDetails.StatedName(callerText) is { } stated)
        {
            name = stated;
            heard |= HeardFields.Name;
        }
        // A number the caller said to call back on ("rappelez-moi au 514 555 0777", or a neighbour's) beats the caller id;
        // a number only mentioned ("chez mon voisin au 450 555 0123") does not.
        var phone = Phones.Normalize(fromStructured?.Phone ?? captured?.Phone, region)
                    ?? keyedNumber
                    ?? StatedCallbackNumber(callerText, region);
        if (phone is null && Phones.SettingsNumberToE164(customerNumber, region) is { } callerId)
        {
            phone = callerId;
            heard |= HeardFields.Phone;
        }
        var address = fromStructured?.Address ?? captured?.Address;
        if (address is null && CallerDetails.StatedAddress(callerText) is { } said)
        {
            address = said;
            heard |= HeardFields.Address;
        }
        var problem = fromStructured?.Problem ?? captured?.Problem ?? summary ?? FirstSentence(callerText);
        if (name is null && phone is null && address is null && string.IsNullOrWhiteSpace(callerText) && fromStructured is null && captured is null)
        {
            return null;
        }
        var urgency = Urgency.Max(Urgency.Max(fromStructured?.Urgency ?? Urgency.Routine, captured?.Urgency ?? Urgency.Routine),
            Urgency.Max(detected, summaryUrgency));
        var source = fromStructured is not null ? "structured-data" : captured is not null ? "tool" : "transcript";
        return new LeadDraft(name, phone, address, Truncate(problem, 1000), urgency, source, heard);
    }

    /// <summary>
    /// The first phone number in a sentence of <paramref name="callerText"/> that asks to be called or reached on it
    /// (<see cref="CallbackCue"/>: "rappelez-moi", "call me back at", "my number is", "texte-moi"), read in <paramref name="region"/>.
    /// </summary>
    internal static string? StatedCallbackNumber(string? callerText, string region)
    {
        if (string.IsNullOrWhiteSpace(callerText))
        {
            return null;
        }
        foreach (var sentence in SentenceBreak().Split(callerText))
        {
            if (CallbackCue().IsMatch(sentence) && Phones.FindInText(sentence, region) is { } number)
            {
                return number;
            }
        }
        return null;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(?<=[.!?])\s+|\n")]
    private static partial System.Text.RegularExpressions.Regex SentenceBreak();

    [System.Text.RegularExpressions.GeneratedRegex(@"\b(rappel\w*|recontact\w*|joindre|rejoindre|contact\w*|appel(?:ez|le|er)\w*|t[ée]l[ée]phon\w*|textez|texte-moi|mon (?:num[ée]ro|cell|cellulaire|portable|mobile|t[ée]l[ée]phone)|son (?:num[ée]ro|cell|portable)|call (?:me|him|her|us|them|back)|reach|text me|my (?:number|cell|phone|mobile)|his number|her number|callback|call-back)\b",
        System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex CallbackCue();

    private static string? First(JsonElement obj, string[] keys)
    {
        foreach (var property in obj.EnumerateObject())
        {
            foreach (var key in keys)
            {
                if (property.Name.Equals(key, StringComparison.OrdinalIgnoreCase))
                {
                    var value = ((JsonElement?)property.Value).Str();
                    if (value is not null)
                    {
                        return Truncate(value.Trim(), 500);
                    }
                }
            }
        }
        return null;
    }

    private static string? FirstSentence(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        var line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        return Truncate(line, 300);
    }

    private static string? Truncate(string? s, int max) => TolerantJson.Cap(s, max);
}
