using Switchboard.Assistants;
using Switchboard.Platform.Http;
using Switchboard.Platform.Phones;
using Switchboard.Tenancy;

namespace Switchboard.Alerts;

/// <summary>
/// An alert policy as an owner types it, read the same way wherever it is edited (an assistant in the studio, the business's
/// own in Settings → Alerts): numbers read in the business's region and stored in E.164 (<see cref="Phones.SettingsNumbersToE164"/>,
/// duplicates dropped), at most <see cref="MaxNumbers"/> per list, one field error per list so a form shows it beside the field.
/// </summary>
internal static class AlertPolicyInput
{
    /// <summary>Most numbers in the on-call list, and in the office list.</summary>
    public const int MaxNumbers = 10;

    /// <summary>
    /// The policy <paramref name="input"/> describes, its problems added to <paramref name="validation"/> under
    /// <paramref name="prefix"/> + <c>onCallNumbers</c>, <c>officeNumbers</c>, <c>language</c> (a BCP 47 tag) and
    /// <c>nonUrgentDelivery</c> (<c>business-hours</c>, the default, or <c>none</c>). Use the result only when
    /// <paramref name="validation"/> is valid.
    /// </summary>
    public static AlertPolicy Read(AlertPolicyDto input, string region, Validation validation, string prefix)
    {
        var onCall = Phones.SettingsNumbersToE164(input.OnCallNumbers ?? [], region, out var badOnCall);
        if (badOnCall is not null || input.OnCallNumbers is { Count: > MaxNumbers })
        {
            validation.Add(prefix + "onCallNumbers", NumbersProblem(badOnCall, region));
        }
        var office = Phones.SettingsNumbersToE164(input.OfficeNumbers ?? [], region, out var badOffice);
        if (badOffice is not null || input.OfficeNumbers is { Count: > MaxNumbers })
        {
            validation.Add(prefix + "officeNumbers", NumbersProblem(badOffice, region));
        }
        if (input.Language is not null && !Validation.IsLocale(input.Language))
        {
            validation.Add(prefix + "language", "must be a BCP 47 tag such as fr-CA");
        }
        if (input.NonUrgentDelivery is not null and not ("business-hours" or "none"))
        {
            validation.Add(prefix + "nonUrgentDelivery", "must be business-hours or none");
        }
        return new AlertPolicy
        {
            OnCallNumbers = onCall,
            OfficeNumbers = office,
            NonUrgentDelivery = input.NonUrgentDelivery ?? "business-hours",
            Language = input.Language,
        };
    }

    /// <summary>
    /// The numbers of a policy change as an audit entry records them (<c>assistant.updated</c>, <c>business.updated</c>):
    /// <c>{ from: { onCallNumbers, officeNumbers } | null, to: … }</c>. Who is texted about emergencies is what an owner most
    /// needs to trace.
    /// </summary>
    public static object AuditChange(AlertPolicy? from, AlertPolicy? to) => new
    {
        from = from is null ? null : new { from.OnCallNumbers, from.OfficeNumbers },
        to = to is null ? null : new { to.OnCallNumbers, to.OfficeNumbers },
    };

    private static string NumbersProblem(string? invalid, string region) =>
        (invalid is null ? "" : $"'{(invalid.Length > 40 ? TolerantJson.Cap(invalid, 40) + "…" : invalid)}' is not a phone number in {region}; ")
        + $"numbers such as +15145550111 or (514) 555-0111 (at most {MaxNumbers})";
}
