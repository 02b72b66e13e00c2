using System.Net;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.EntityFrameworkCore;
using Switchboard.Tests.Support;
using Switchboard.Twilio;

namespace Switchboard.Tests.Twilio;

/// <summary>
/// Every Twilio webhook (voice, its actions, status, recording, SMS, AMD, transfer) under hostile forms that carry a valid
/// signature: required fields missing, a field repeated with different values, a huge value, bytes that are not UTF-8 and
/// broken percent-encoding, another Twilio account's <c>AccountSid</c>. Never a 5xx; bad input changes no row.
/// </summary>
[Trait("Category", "Database")]
public sealed class TwilioHostileWebhookTests(ClaimRaceFactory factory) : IClassFixture<ClaimRaceFactory>
{
    /// <summary>The webhooks, relative to <c>/webhooks/twilio/</c>; <c>{t}</c> is the tenant, <c>{g}</c> an id nothing has.</summary>
    private static readonly string[] Endpoints =
    [
        "voice/{t}", "voice/{t}/stream-ended", "voice/{t}/recorded", "status/{t}", "recording/{t}", "sms/{t}", "sms-status/{t}",
        "transfer/{t}/{g}", "transfer/{t}/{g}/whisper", "transfer/{t}/{g}/dial-ended",
        "outbound/{t}/{g}/answer", "outbound/{t}/{g}/amd", "outbound/{t}/{g}/status",
    ];

    /// <summary>Hostile forms; <c>true</c> when the form is bad input (it must change no row).</summary>
    private static readonly (string Name, bool Bad)[] Cases =
    [
        ("missing-fields", true), ("repeated-sids", true), ("wrong-account", true), ("huge-values", false), ("invalid-utf8", false),
    ];

    public static TheoryData<string, string> Probes()
    {
        var data = new TheoryData<string, string>();
        foreach (var endpoint in Endpoints)
        {
            foreach (var (name, _) in Cases)
            {
                data.Add(endpoint, name);
            }
        }
        return data;
    }

    private static string NewSid(string prefix) => (prefix + Guid.NewGuid().ToString("N"))[..34];

    /// <summary>A complete form for any of the webhooks (each reads the fields it knows).</summary>
    private static List<KeyValuePair<string, string>> Complete(string accountSid) =>
    [
        new("AccountSid", accountSid), new("CallSid", NewSid("CA")), new("CallStatus", "completed"), new("Direction", "inbound"),
        new("From", "+15145550123"), new("To", "+15145550199"), new("RecordingSid", NewSid("RE")), new("RecordingStatus", "completed"),
        new("RecordingUrl", "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE1"), new("RecordingDuration", "12"),
        new("MessageSid", NewSid("SM")), new("MessageStatus", "delivered"), new("Body", "STOP"), new("DialCallStatus", "busy"),
        new("AnsweredBy", "human"),
    ];

    /// <summary>The raw body of case <paramref name="name"/> (bytes: a case may not be UTF-8).</summary>
    private static byte[] Body(string name)
    {
        static string Encode(IEnumerable<KeyValuePair<string, string>> pairs) =>
            string.Join('&', pairs.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)));
        switch (name)
        {
            case "missing-fields":
                return Encoding.UTF8.GetBytes(Encode([new("AccountSid", TwilioSimulator.AccountSid)]));
            case "repeated-sids":
                var repeated = Complete(TwilioSimulator.AccountSid);
                repeated.AddRange([new("CallSid", NewSid("CA")), new("RecordingSid", NewSid("RE")), new("MessageSid", NewSid("SM"))]);
                return Encoding.UTF8.GetBytes(Encode(repeated));
            case "wrong-account":
                return Encoding.UTF8.GetBytes(Encode(Complete("AC" + new string('9', 32))));
            case "huge-values":
                var huge = Complete(TwilioSimulator.AccountSid).Select(p => p.Key is "AccountSid" ? p : new(p.Key, p.Value + new string('x', 4000))).ToList();
                return Encoding.UTF8.GetBytes(Encode(huge));
            case "invalid-utf8":
                var bytes = new List<byte>(Encoding.UTF8.GetBytes(Encode(Complete(TwilioSimulator.AccountSid)) + "&Caller=%ZZ%E2%82&CallerName="));
                bytes.AddRange([0xFF, 0xFE, 0xC3, 0x28]);
                return [.. bytes];
            default:
                throw new ArgumentOutOfRangeException(nameof(name));
        }
    }

    [Theory]
    [MemberData(nameof(Probes))]
    public async Task AHostileButSignedFormIsNeverA5xxAndBadInputChangesNothing(string endpoint, string name)
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var path = "/webhooks/twilio/" + endpoint.Replace("{t}", tenant.Id.ToString()).Replace("{g}", Guid.NewGuid().ToString());
        var before = await RowsAsync(tenant.Id);

        var response = await PostRawSignedAsync(path, Body(name));

        Assert.True((int)response.StatusCode < 500, $"{endpoint} {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        if (Cases.Single(c => c.Name == name).Bad)
        {
            Assert.Equal(before, await RowsAsync(tenant.Id));
        }
        if (name == "wrong-account")
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }
    }

    /// <summary>How many rows of each kind a Twilio webhook writes the tenant has.</summary>
    private Task<string> RowsAsync(Guid tenantId) => factory.WithDbAsync(tenantId, async db =>
        $"calls {await db.Calls.CountAsync()}, events {await db.CallEvents.CountAsync()}, recordings {await db.CallRecordings.CountAsync()}, " +
        $"sms {await db.SmsMessages.CountAsync()}, transfers {await db.CallTransfers.CountAsync()}, dnc {await db.DoNotCall.CountAsync()}, " +
        $"webhooks {await db.WebhookEvents.CountAsync()}");

    /// <summary>POSTs <paramref name="body"/> as a form, signed over the fields as the host decodes them (as Twilio signs what it sends).</summary>
    private async Task<HttpResponseMessage> PostRawSignedAsync(string path, byte[] body)
    {
        var client = factory.CreateClient();
        var url = new Uri(client.BaseAddress!, path).ToString();
        var pairs = new FormReader(Encoding.UTF8.GetString(body)).ReadForm().SelectMany(kv => kv.Value.Select(v => new KeyValuePair<string, string>(kv.Key, v ?? "")));
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-www-form-urlencoded");
        request.Headers.Add("X-Twilio-Signature", TwilioRequestValidator.ComputeSignature(url, pairs, TwilioSimulator.AuthToken));
        return await client.SendAsync(request);
    }
}
