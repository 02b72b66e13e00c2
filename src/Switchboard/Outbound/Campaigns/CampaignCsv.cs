using System.Globalization;
using System.Text;
using Switchboard.Platform.Http;

namespace Switchboard.Outbound.Campaigns;

/// <summary>A contact read from a campaign CSV: its data-row position, E.164 number, name, variables and consent record (if given).</summary>
internal sealed record ContactDraft(int Ordinal, string Number, string? Name, Dictionary<string, string> Variables, string? ConsentSource, DateTimeOffset? ConsentAt);

/// <summary>What a campaign CSV held: the usable contacts, one error per refused row, or a reason the whole file is unusable.</summary>
internal sealed record ContactImport(List<ContactDraft> Contacts, List<CsvRowError> Errors, string? FileError);

/// <summary>
/// Reads a campaign's contacts from CSV text (RFC 4180: comma-separated, fields in double quotes may hold commas, line
/// breaks and <c>""</c>; a leading UTF-8 BOM and CRLF or LF line ends are accepted). The first line is the header and
/// must name a <c>number</c> column (also <c>phone</c>, <c>phone_number</c>, <c>to</c>); <c>name</c> is optional;
/// <c>consent_source</c> + <c>consent_at</c> (ISO 8601; both or neither) record the callee's consent to be called;
/// every other column is a variable given to the assistant (at most <see cref="MaxVariables"/>, names ≤ 64 characters,
/// values ≤ 500). Numbers are read in the tenant's region and stored in E.164. A row that cannot be used (not a
/// phone number, a duplicate, a value too long, a bad consent date) is reported with its 1-based line and reason and
/// the others are kept; nothing here throws on bad input.
/// </summary>
internal static class CampaignCsv
{
    /// <summary>Largest CSV accepted, bytes.</summary>
    public const int MaxBytes = 2 * 1024 * 1024;

    /// <summary>Most contacts in one campaign (Vapi's campaign limit, outbound-and-transfer.md §4).</summary>
    public const int MaxContacts = 10_000;

    /// <summary>Variables per contact from the CSV (two more, <c>name</c> and <c>campaign</c>, are added to each call).</summary>
    public const int MaxVariables = OutboundContext.MaxVariables - 2;

    private static readonly string[] NumberHeaders = ["number", "phone", "phone_number", "phonenumber", "to"];

    /// <summary>Parses <paramref name="csv"/>; numbers are read in <paramref name="region"/> (ISO 3166, e.g. <c>CA</c>); consent dates must not be after <paramref name="now"/>.</summary>
    public static ContactImport Read(string csv, string region, DateTimeOffset now)
    {
        var contacts = new List<ContactDraft>();
        var errors = new List<CsvRowError>();
        var rows = Rows(csv).ToList();
        var headerIndex = rows.FindIndex(r => r.Fields.Any(f => f.Trim().Length > 0));
        if (headerIndex < 0)
        {
            return new ContactImport(contacts, errors, "The CSV is empty: give a header line (number,name,…) and one line per contact.");
        }
        var header = rows[headerIndex].Fields.Select(f => f.Trim().TrimStart('\uFEFF').Trim()).ToList();
        var numberColumn = header.FindIndex(h => NumberHeaders.Contains(Key(h)));
        if (numberColumn < 0)
        {
            return new ContactImport(contacts, errors, "The CSV's first line must be a header with a 'number' column (e.g. number,name,appointment).");
        }
        var nameColumn = header.FindIndex(h => Key(h) == "name");
        var consentSourceColumn = header.FindIndex(h => Key(h) is "consent_source" or "consentsource");
        var consentAtColumn = header.FindIndex(h => Key(h) is "consent_at" or "consentat");
        var variableColumns = Enumerable.Range(0, header.Count)
            .Where(i => i != numberColumn && i != nameColumn && i != consentSourceColumn && i != consentAtColumn && header[i].Length > 0).ToList();
        if (variableColumns.Count > MaxVariables)
        {
            return new ContactImport(contacts, errors, $"At most {MaxVariables} variable columns besides number and name.");
        }
        if (variableColumns.Select(i => header[i]).FirstOrDefault(h => h.Length > 64 || Key(h) == "campaign") is { } bad)
        {
            return new ContactImport(contacts, errors, $"Column '{Cut(bad, 64)}': variable names are at most 64 characters, and 'campaign' is reserved.");
        }
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var ordinal = 0;
        foreach (var (line, fields) in rows.Skip(headerIndex + 1))
        {
            if (fields.All(f => f.Trim().Length == 0))
            {
                continue; // blank line
            }
            var raw = numberColumn < fields.Count ? fields[numberColumn].Trim() : "";
            string? Reject(string reason)
            {
                errors.Add(new CsvRowError(line, Cut(raw, 64), reason));
                return null;
            }
            if (fields.Count > header.Count)
            {
                Reject($"{fields.Count} fields for a header of {header.Count}");
                continue;
            }
            if (Platform.Phones.Phones.SettingsNumberToE164(raw, region) is not { } e164)
            {
                Reject(raw.Length == 0 ? "no number" : "not a phone number");
                continue;
            }
            if (seen.TryGetValue(e164, out var first))
            {
                Reject($"duplicate of line {first.ToString(CultureInfo.InvariantCulture)}");
                continue;
            }
            var name = nameColumn >= 0 && nameColumn < fields.Count ? fields[nameColumn].Trim() : "";
            if (name.Length > 200)
            {
                Reject("name longer than 200 characters");
                continue;
            }
            var variables = new Dictionary<string, string>(StringComparer.Ordinal);
            string? tooLong = null;
            foreach (var i in variableColumns)
            {
                var value = i < fields.Count ? fields[i].Trim() : "";
                if (value.Length > 500)
                {
                    tooLong = header[i];
                }
                else if (value.Length > 0)
                {
                    variables[header[i]] = value;
                }
            }
            if (tooLong is not null)
            {
                Reject($"value of '{Cut(tooLong, 64)}' longer than 500 characters");
                continue;
            }
            var consentSource = consentSourceColumn >= 0 && consentSourceColumn < fields.Count ? fields[consentSourceColumn].Trim() : "";
            var consentText = consentAtColumn >= 0 && consentAtColumn < fields.Count ? fields[consentAtColumn].Trim() : "";
            DateTimeOffset? consentAt = null;
            if (consentSource.Length > 0 || consentText.Length > 0)
            {
                if (consentSource.Length == 0 || consentSource.Length > 500)
                {
                    Reject("consent_source: 1–500 characters when consent_at is given");
                    continue;
                }
                if (!DateTimeOffset.TryParse(consentText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) || at > now)
                {
                    Reject("consent_at: an ISO 8601 date and time, not in the future");
                    continue;
                }
                consentAt = at.ToUniversalTime();
            }
            if (contacts.Count == MaxContacts)
            {
                Reject($"over the limit of {MaxContacts} contacts per campaign");
                continue;
            }
            seen[e164] = line;
            contacts.Add(new ContactDraft(++ordinal, e164, name.Length == 0 ? null : name, variables, consentAt is null ? null : consentSource, consentAt));
        }
        return new ContactImport(contacts, errors, null);
    }

    private static string Key(string header) => header.Trim().ToLowerInvariant().Replace(' ', '_').Replace('-', '_');

    private static string Cut(string s, int max) => TolerantJson.Cap(s, max);

    /// <summary>The records of <paramref name="csv"/> with the 1-based line each starts on.</summary>
    internal static IEnumerable<(int Line, List<string> Fields)> Rows(string csv)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var line = 1;
        var start = 1;
        for (var i = 0; i < csv.Length; i++)
        {
            var c = csv[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < csv.Length && csv[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    if (c == '\n')
                    {
                        line++;
                    }
                    field.Append(c);
                }
                continue;
            }
            switch (c)
            {
                case '"' when field.ToString().Trim().Length == 0:
                    field.Clear();
                    quoted = true;
                    break;
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    break;
                case '\r':
                    break;
                case '\n':
                    fields.Add(field.ToString());
                    field.Clear();
                    yield return (start, fields);
                    fields = [];
                    line++;
                    start = line;
                    break;
                default:
                    field.Append(c);
                    break;
            }
        }
        if (field.Length > 0 || fields.Count > 0)
        {
            fields.Add(field.ToString());
            yield return (start, fields);
        }
    }
}
