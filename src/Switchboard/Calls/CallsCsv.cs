using System.Buffers;
using System.Globalization;
using System.Text;
using Switchboard.Tenancy;

namespace Switchboard.Calls;

/// <summary>
/// <c>GET /api/v1/calls/export.csv</c>: the filtered calls as RFC 4180 CSV (UTF-8 with a byte-order mark so spreadsheets
/// read accents), streamed row by row from one database reader. Times are ISO-8601 in the tenant's time zone with
/// their offset (<c>2026-03-08T01:30:00-05:00</c>). Cells that a spreadsheet would run as a formula (starting with
/// <c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>, tab or carriage return; OWASP "CSV injection") are prefixed with <c>'</c>.
/// Unicode bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) are removed from every cell, so
/// caller-supplied text cannot show reversed or spoofed in a spreadsheet ("Trojan Source", CVE-2021-42574); the
/// left-to-right and right-to-left marks U+200E/U+200F, which Arabic and Hebrew text uses, are kept.
/// The last six columns are the call's lead: its workflow status (<c>new</c>, <c>contacted</c>, <c>booked</c>, <c>lost</c>) and
/// notes, then who to call back where about what (<c>leadName</c>, <c>leadPhone</c>: the callback number, <c>leadAddress</c>,
/// <c>leadProblem</c>); all empty when the call has no lead. They come after the older columns so a spreadsheet that reads
/// columns by position keeps working.
/// </summary>
internal static class CallsCsv
{
    /// <summary>
    /// The explicit directional formatting characters of Unicode Standard Annex #9 §2.1–2.2 (embeddings, overrides, their
    /// terminator, isolates and theirs), which can reorder what follows them; not the implicit marks U+200E, U+200F, U+061C.
    /// </summary>
    private static readonly SearchValues<char> BidiControls = SearchValues.Create("\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069");

    private static readonly string[] Header =
    [
        "id", "createdAt", "startedAt", "endedAt", "durationSeconds", "channel", "direction", "provider", "status", "endedReason",
        "urgency", "customerNumber", "businessNumber", "cost", "assistantId", "summary", "leadStatus", "leadNotes",
        "leadName", "leadPhone", "leadAddress", "leadProblem",
    ];

    /// <summary>Writes the response: headers, then one line per call. Flushes every 200 rows.</summary>
    public static async Task WriteAsync(HttpContext http, CallListQuery query, Guid tenantId, CallFilter filter, string timeZone,
        DateTimeOffset now, CancellationToken ct)
    {
        var zone = BusinessHoursCalculator.Zone(timeZone);
        http.Response.ContentType = "text/csv; charset=utf-8";
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"calls-{TimeZoneInfo.ConvertTime(now, zone):yyyyMMdd-HHmm}.csv\"";
        http.Response.Headers.CacheControl = "no-store";
        await using var writer = new StreamWriter(http.Response.Body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: true), 16 * 1024);
        await writer.WriteAsync(string.Join(',', Header) + "\r\n");
        var line = new StringBuilder(512);
        var count = 0;
        await query.ExportAsync(tenantId, filter, async row =>
        {
            line.Clear();
            Cell(line, row.Id.ToString(), text: false);
            Cell(line, Time(row.CreatedAt, zone), text: false);
            Cell(line, Time(row.StartedAt, zone), text: false);
            Cell(line, Time(row.EndedAt, zone), text: false);
            Cell(line, row.DurationSeconds?.ToString("0.###", CultureInfo.InvariantCulture), text: false);
            Cell(line, row.Channel == CallChannels.Voice ? "phone" : row.Channel, text: true);
            Cell(line, row.Type == "outboundPhoneCall" ? "outbound" : "inbound", text: false);
            Cell(line, row.Provider, text: true);
            Cell(line, row.Status, text: true);
            Cell(line, row.EndedReason, text: true);
            Cell(line, row.Urgency == Urgency.Soon ? "urgent" : row.Urgency, text: true);
            Cell(line, row.CustomerNumber, text: true);
            Cell(line, row.BusinessNumber, text: true);
            Cell(line, row.Cost?.ToString("0.####", CultureInfo.InvariantCulture), text: false);
            Cell(line, row.AssistantId?.ToString(), text: false);
            Cell(line, row.Summary, text: true);
            Cell(line, row.LeadStatus, text: true);
            Cell(line, row.LeadNotes, text: true);
            Cell(line, row.LeadName, text: true);
            Cell(line, row.LeadPhone, text: true);
            Cell(line, row.LeadAddress, text: true);
            Cell(line, row.LeadProblem, text: true);
            line.Length--; // trailing comma
            line.Append("\r\n");
            await writer.WriteAsync(line, ct);
            if (++count % 200 == 0)
            {
                await writer.FlushAsync(ct);
            }
        }, ct);
        await writer.FlushAsync(ct);
    }

    /// <summary>ISO-8601 in <paramref name="zone"/> with its offset at that instant (DST-aware); empty when null.</summary>
    internal static string? Time(DateTimeOffset? t, TimeZoneInfo zone) =>
        t is { } v ? TimeZoneInfo.ConvertTime(v, zone).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture) : null;

    /// <summary>
    /// Appends one cell and a comma: bidirectional controls removed, then quoted when it holds a comma, quote or line break;
    /// formula-like text neutralised (after the removal, so a control cannot hide a leading <c>=</c>).
    /// </summary>
    internal static void Cell(StringBuilder line, string? value, bool text)
    {
        if (value is null)
        {
            line.Append(',');
            return;
        }
        if (value.AsSpan().IndexOfAny(BidiControls) >= 0)
        {
            value = string.Concat(value.Where(c => !BidiControls.Contains(c)));
        }
        if (text && value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }
        if (value.AsSpan().IndexOfAny(",\"\r\n") >= 0)
        {
            line.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
        }
        else
        {
            line.Append(value);
        }
        line.Append(',');
    }
}
