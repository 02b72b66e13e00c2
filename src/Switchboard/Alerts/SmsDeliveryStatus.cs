using Microsoft.EntityFrameworkCore;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;

namespace Switchboard.Alerts;

/// <summary>
/// How an outbound <see cref="SmsMessage"/> follows Twilio's message status callbacks (Twilio docs, "Track the Message
/// Status of Outbound Messages" and "Message resource: status values"). Twilio POSTs one callback per status change to the
/// <c>StatusCallback</c> URL given when the message was created; they can arrive out of order and more than once, so a
/// status only moves forward along this rank:
/// <list type="table">
/// <item><term>0</term><description><c>scheduled</c>, <c>queued</c>, <c>accepted</c> (Twilio has it, not yet sent)</description></item>
/// <item><term>1</term><description><c>sending</c></description></item>
/// <item><term>2</term><description><c>sent</c> (the nearest carrier accepted it)</description></item>
/// <item><term>3</term><description><c>delivered</c> (the carrier confirmed delivery; <c>read</c>, reported only for WhatsApp and RCS,
/// is recorded as <c>delivered</c>), final</description></item>
/// <item><term>4</term><description><c>undelivered</c> (the carrier could not deliver it: e.g. 30003 unreachable handset, 30005
/// unknown handset, 30006 landline or unreachable carrier, 30007 filtered), <c>failed</c> (never sent: e.g. 21610 the recipient
/// replied STOP), <c>canceled</c>, final</description></item>
/// </list>
/// A row in a final status, or in a status that is not Twilio's (<c>simulated</c>, <c>received</c>), never changes;
/// <c>receiving</c>/<c>received</c> (inbound statuses) and unknown values are ignored.
/// </summary>
internal static class SmsDeliveryStatus
{
    /// <summary>Rank of <paramref name="status"/> (0 to 4, above); -1 when it is not an outbound Twilio status.</summary>
    public static int Rank(string? status) => status switch
    {
        "scheduled" or "queued" or "accepted" => 0,
        "sending" => 1,
        "sent" => 2,
        "delivered" or "read" => 3,
        "undelivered" or "failed" or "canceled" => 4,
        _ => -1,
    };

    /// <summary>True for <c>undelivered</c>, <c>failed</c> and <c>canceled</c>: the text did not reach the phone and never will.</summary>
    public static bool IsNotDelivered(string? status) => Rank(status) == 4;

    /// <summary>
    /// Applies a status callback to <paramref name="sms"/>: moves <see cref="SmsMessage.Status"/> forward to
    /// <paramref name="status"/> (<c>read</c> stored as <c>delivered</c>) and, for a status that is not delivered, records
    /// Twilio's <paramref name="errorCode"/> (≤ 32 characters) and <paramref name="errorMessage"/> (Twilio's, else the
    /// code's name from <see cref="DescribeError"/>). Returns false, changing nothing, when the status would not move forward.
    /// </summary>
    public static bool Advance(SmsMessage sms, string? status, string? errorCode, string? errorMessage)
    {
        var current = Rank(sms.Status);
        var next = Rank(status);
        if (current is < 0 or >= 3 || next <= current)
        {
            return false;
        }
        sms.Status = status == "read" ? "delivered" : status!;
        if (next == 4)
        {
            var code = errorCode is { Length: > 0 } c && c != "0" ? TolerantJson.Cap(c, 32) : null;
            sms.ErrorCode = code ?? sms.ErrorCode;
            sms.ErrorMessage = errorMessage is { Length: > 0 } m ? Cap(m, 500) : DescribeError(code) ?? sms.ErrorMessage;
        }
        return true;
    }

    /// <summary>
    /// Applies a status callback to the stored SMS <paramref name="smsId"/> as <see cref="Advance"/> does, with a compare-and-set
    /// <c>UPDATE … WHERE "Status" = (the status read)</c>: two callbacks of one text handled at once (Twilio sends <c>sent</c>
    /// and <c>delivered</c> seconds apart, or closer, to any node) cannot both move it from the same status, so a later
    /// status is never overwritten by an earlier one, and a status is recorded (and <c>sms.failed</c> published by the caller)
    /// once. A row without a sid takes <paramref name="messageSid"/> (a callback that came before the send recorded Twilio's
    /// answer). Returns the row as stored after the change, untracked; null when the status does not move it (or it is gone).
    /// Run it in the caller's transaction to publish with it atomically. <paramref name="afterRead"/> (tests) runs between each
    /// read and its UPDATE: where a concurrent writer would.
    /// </summary>
    public static async Task<SmsMessage?> AdvanceStoredAsync(SwitchboardDbContext db, Guid smsId, string messageSid, string? status,
        string? errorCode, string? errorMessage, CancellationToken ct, Func<Task>? afterRead = null)
    {
        for (var attempt = 0; attempt < 8; attempt++)
        {
            var sms = await db.SmsMessages.AsNoTracking().FirstOrDefaultAsync(s => s.Id == smsId, ct);
            if (sms is null)
            {
                return null;
            }
            var before = sms.Status;
            if (!Advance(sms, status, errorCode, errorMessage))
            {
                return null;
            }
            sms.MessageSid ??= messageSid;
            if (afterRead is not null)
            {
                await afterRead();
            }
            var moved = await db.SmsMessages.Where(s => s.Id == smsId && s.Status == before).ExecuteUpdateAsync(u => u
                .SetProperty(s => s.Status, sms.Status)
                .SetProperty(s => s.ErrorCode, sms.ErrorCode)
                .SetProperty(s => s.ErrorMessage, sms.ErrorMessage)
                .SetProperty(s => s.MessageSid, s => s.MessageSid ?? messageSid), ct);
            if (moved == 1)
            {
                return sms;
            }
            // Another callback moved it since it was read (PostgreSQL: this UPDATE waited for that one's COMMIT, then found
            // the status changed): read it again and decide on what is stored now.
        }
        return null;
    }

    /// <summary>
    /// Twilio's name for the error codes a text to staff most often ends with (Twilio error dictionary,
    /// twilio.com/docs/api/errors/&lt;code&gt;); null for others.
    /// </summary>
    public static string? DescribeError(string? code) => code switch
    {
        "30003" => "Unreachable destination handset",
        "30004" => "Message blocked",
        "30005" => "Unknown destination handset",
        "30006" => "Landline or unreachable carrier",
        "30007" => "Message filtered",
        "30008" => "Unknown error",
        "21610" => "Attempt to send to unsubscribed recipient",
        _ => null,
    };

    private static string Cap(string s, int max) => TolerantJson.Cap(s, max);
}
