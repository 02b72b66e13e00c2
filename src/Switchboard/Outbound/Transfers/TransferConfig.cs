using Switchboard.Platform.Http;
using Switchboard.Platform.Phones;
using Switchboard.Tenancy;

namespace Switchboard.Outbound;

/// <summary>
/// A person or desk a call can be transferred to (issue 11): <c>Name</c> (what the model and the caller say, e.g.
/// "plombier de garde"), <c>Number</c> (E.164), <c>Hours</c> (when it takes transfers, weekly ranges in the tenant's time zone;
/// null means the tenant's business hours, as for phone numbers) and an optional <c>Description</c> for the model.
/// </summary>
internal sealed record TransferDestination
{
    public required string Name { get; init; }
    public required string Number { get; init; }
    public BusinessHours? Hours { get; init; }
    public string? Description { get; init; }
}

/// <summary>
/// One transfer destination as the API shows it: <c>name</c> (1–80 characters, unique per assistant, case-insensitive),
/// <c>number</c> (read in the tenant's region, returned in E.164), <c>hours</c> (null: the tenant's business hours) and
/// <c>description</c> (at most 300 characters).
/// </summary>
public sealed record TransferDestinationDto(string? Name, string? Number, BusinessHoursDto? Hours, string? Description = null);

/// <summary>
/// Live transfer of an assistant (off by default): <c>enabled</c> offers the <c>transfer_call</c> tool on native calls and
/// answers Vapi's <c>transfer-destination-request</c>; <c>destinations</c> at most 10. On a change both are optional
/// (a missing one is kept).
/// </summary>
public sealed record TransferConfigDto(bool? Enabled, List<TransferDestinationDto>? Destinations);

/// <summary>Validation and conversion of <see cref="TransferConfigDto"/>; the rules that pick a destination for a call.</summary>
internal static class TransferConfig
{
    /// <summary>Most destinations per assistant.</summary>
    public const int MaxDestinations = 10;

    public static TransferConfigDto ToDto(bool enabled, List<TransferDestination>? destinations) =>
        new(enabled, (destinations ?? []).Select(d => new TransferDestinationDto(d.Name, d.Number, d.Hours is { } h ? BusinessHoursDto.From(h) : null, d.Description)).ToList());

    /// <summary>
    /// The destinations of <paramref name="dto"/> with numbers in E.164 (libphonenumber, read in <paramref name="region"/>),
    /// or null with the problems added to <paramref name="v"/> under <c>transfer.destinations[i].field</c>. A name follows
    /// <see cref="Validation.Name"/> and a description <see cref="Validation.Text"/> (no control characters or bidirectional
    /// overrides: staff read them, and the model says the name to the caller).
    /// </summary>
    public static List<TransferDestination>? Parse(List<TransferDestinationDto> dto, string region, Validation v)
    {
        if (dto.Count > MaxDestinations)
        {
            v.Add("transfer.destinations", $"at most {MaxDestinations} destinations");
            return null;
        }
        var result = new List<TransferDestination>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var ok = true;
        for (var i = 0; i < dto.Count; i++)
        {
            var d = dto[i];
            var field = $"transfer.destinations[{i}]";
            if (d is null)
            {
                v.Add(field, "must be an object with name and number");
                ok = false;
                continue;
            }
            var name = d.Name?.Trim();
            if (string.IsNullOrEmpty(name) || name.Length > 80)
            {
                v.Add(field + ".name", "is required (at most 80 characters)");
                ok = false;
            }
            else if (Validation.HasUnsafeNameCharacter(name))
            {
                v.Add(field + ".name", Validation.NameProblem);
                ok = false;
            }
            else if (!names.Add(name))
            {
                v.Add(field + ".name", $"'{name}' is used twice");
                ok = false;
            }
            var number = Phones.SettingsNumberToE164(d.Number, region);
            if (number is null)
            {
                v.Add(field + ".number", $"must be a phone number such as +15145550111 or (514) 555-0111 (read in {region})");
                ok = false;
            }
            if (d.Description is { Length: > 300 })
            {
                v.Add(field + ".description", "at most 300 characters");
                ok = false;
            }
            else if (d.Description is not null && Validation.HasUnsafeTextCharacter(d.Description))
            {
                v.Add(field + ".description", Validation.TextProblem);
                ok = false;
            }
            BusinessHours? hours = null;
            if (d.Hours is { } h)
            {
                var problems = new List<string>();
                hours = h.ToModel(problems);
                if (problems.Count > 0)
                {
                    v.Add(field + ".hours", string.Join("; ", problems));
                    ok = false;
                }
            }
            if (ok)
            {
                result.Add(new TransferDestination { Name = name!, Number = number!, Hours = hours, Description = d.Description?.Trim() });
            }
        }
        return ok ? result : null;
    }

    /// <summary>
    /// The destination the model or Vapi asked for: by name (case-insensitive), by number, or the only one when none is
    /// named. Null when nothing matches.
    /// </summary>
    public static TransferDestination? Find(IReadOnlyList<TransferDestination> destinations, string? requested, string region)
    {
        if (string.IsNullOrWhiteSpace(requested))
        {
            return destinations.Count == 1 ? destinations[0] : null;
        }
        var wanted = requested.Trim();
        return destinations.FirstOrDefault(d => string.Equals(d.Name, wanted, StringComparison.OrdinalIgnoreCase))
            ?? (Phones.ToE164(wanted, region) is { } e164 ? destinations.FirstOrDefault(d => d.Number == e164) : null)
            ?? destinations.FirstOrDefault(d => d.Name.Contains(wanted, StringComparison.OrdinalIgnoreCase) || wanted.Contains(d.Name, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// Vapi's <c>transferCall</c> tool with no destinations (outbound-and-transfer.md §3.3 "Dynamic destination"): Vapi then
    /// asks Switchboard with <c>transfer-destination-request</c>, answered from the same configuration and hours. The function's
    /// <c>destination</c> argument names one of <paramref name="destinations"/>.
    /// </summary>
    public static System.Text.Json.Nodes.JsonObject VapiTransferTool(IEnumerable<TransferDestination> destinations) => new()
    {
        ["type"] = "transferCall",
        ["destinations"] = new System.Text.Json.Nodes.JsonArray(),
        ["function"] = new System.Text.Json.Nodes.JsonObject
        {
            ["name"] = "transferCall",
            ["description"] = "Transfer the caller live to a person when they ask for one or the need is beyond you.",
            ["parameters"] = new System.Text.Json.Nodes.JsonObject
            {
                ["type"] = "object",
                ["properties"] = new System.Text.Json.Nodes.JsonObject
                {
                    ["destination"] = new System.Text.Json.Nodes.JsonObject
                    {
                        ["type"] = "string",
                        ["enum"] = new System.Text.Json.Nodes.JsonArray([.. destinations.Select(d => (System.Text.Json.Nodes.JsonNode?)System.Text.Json.Nodes.JsonValue.Create(d.Name))]),
                    },
                },
            },
        },
    };

    /// <summary>Whether <paramref name="destination"/> takes transfers at <paramref name="now"/> (its hours, else the tenant's).</summary>
    public static bool IsOpen(TransferDestination destination, Tenant tenant, DateTimeOffset now) =>
        BusinessHoursCalculator.IsOpen(destination.Hours ?? tenant.BusinessHours, tenant.TimeZone, now);

    /// <summary>The next time <paramref name="destination"/> takes transfers, in the tenant's zone (<c>yyyy-MM-dd'T'HH:mm</c>), or null.</summary>
    public static string? NextOpening(TransferDestination destination, Tenant tenant, DateTimeOffset now) =>
        BusinessHoursCalculator.NextOpening(destination.Hours ?? tenant.BusinessHours, tenant.TimeZone, now) is { } next
            ? TimeZoneInfo.ConvertTime(next, BusinessHoursCalculator.Zone(tenant.TimeZone)).ToString("yyyy-MM-dd'T'HH:mm", System.Globalization.CultureInfo.InvariantCulture)
            : null;
}
