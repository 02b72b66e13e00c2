using System.Net;
using System.Text;
using System.Text.Json;
using CsCheck;
using Microsoft.EntityFrameworkCore;
using Switchboard.Tests.Support;
using Switchboard.Twilio;

namespace Switchboard.Tests.Reliability;

/// <summary>
/// The outside probe's Twilio reproducers (shared/findings/reliability-2026-11-30.md §1.2: T1, T2, long SIDs), one test
/// each, and a property over every field of the six Twilio webhooks.
/// </summary>
[Trait("Category", "Database")]
public sealed class TwilioBadInputTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    private static string NewSid(string prefix) => (prefix + Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N"))[..34];

    private async Task<HttpResponseMessage> PostSignedAsync(string path, IEnumerable<KeyValuePair<string, string>> form)
    {
        var client = factory.CreateClient();
        var pairs = form.ToList();
        var url = new Uri(client.BaseAddress!, path).ToString();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(pairs) };
        request.Headers.Add("X-Twilio-Signature", TwilioRequestValidator.ComputeSignature(url, pairs, TwilioSimulator.AuthToken));
        return await client.SendAsync(request);
    }

    private static Dictionary<string, string> Status(string callSid, string status, string? timestamp = null)
    {
        var form = new Dictionary<string, string>
        {
            ["AccountSid"] = TwilioSimulator.AccountSid, ["CallSid"] = callSid, ["CallStatus"] = status, ["From"] = "+15145550123",
            ["To"] = "+15145550199", ["Direction"] = "inbound", ["CallDuration"] = "42", ["SequenceNumber"] = "3",
        };
        if (timestamp is not null)
        {
            form["Timestamp"] = timestamp;
        }
        return form;
    }

    [Theory]
    [InlineData("Fri, 31 Dec 9999 23:59:59 -0100")]
    [InlineData("Mon, 01 Jan 0001 00:00:00 +0100")]
    [InlineData("Thu, 30 Jul 2015 20:12:31 +1500")]
    [InlineData("Thu, 30 Jul 2015 20:12:31 +9999")]
    public async Task T1TimestampWithAnOutOfRangeOffsetIsRecordedUnusableNotA500(string timestamp)
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var callSid = NewSid("CA");
        await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", Twilio.TwilioVoiceWebhookTests.IncomingCall(callSid));

        var response = await PostSignedAsync($"/webhooks/twilio/status/{tenant.Id}", Status(callSid, "completed", timestamp));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.AsNoTracking().SingleAsync(c => c.ProviderCallId == callSid));
        Assert.Equal(factory.Clock.GetUtcNow(), call.EndedAt); // the time it was received stands in
        Assert.Equal(42, call.DurationSeconds);
        var stored = await factory.WithDbAsync(tenant.Id, db => db.CallEvents.AsNoTracking().SingleAsync(e => e.CallId == call.Id && e.Type == "twilio.status"));
        Assert.Contains("Timestamp", JsonSerializer.Deserialize<string[]>(stored.UnusableFields!)!);
    }

    [Theory]
    [InlineData("voice")]
    [InlineData("status")]
    [InlineData("recording")]
    [InlineData("sms")]
    public async Task T2FormKeyLongerThanTheReaderLimitIsA413Envelope(string hook)
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var form = new Dictionary<string, string> { ["MessageSid"] = NewSid("SM"), ["CallSid"] = NewSid("CA"), ["Body"] = "x", [new string('k', 2049)] = "v" };

        var response = await PostSignedAsync($"/webhooks/twilio/{hook}/{tenant.Id}", form);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("PAYLOAD_TOO_LARGE", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task T2MoreThan1024FieldsIsA413Envelope()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var form = Enumerable.Range(0, 1025).Select(i => new KeyValuePair<string, string>($"f{i}", "v"))
            .Append(new("MessageSid", NewSid("SM"))).ToList();

        var response = await PostSignedAsync($"/webhooks/twilio/sms/{tenant.Id}", form);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("PAYLOAD_TOO_LARGE", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task CallSidLongerThanItsColumnIsStoredOnceAndFoundByEveryLaterCallback()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var callSid = "CA" + new string('7', 99); // 101 characters
        Assert.Equal(HttpStatusCode.OK, (await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", Twilio.TwilioVoiceWebhookTests.IncomingCall(callSid))).StatusCode);

        foreach (var status in new[] { "ringing", "in-progress" })
        {
            Assert.Equal(HttpStatusCode.NoContent, (await PostSignedAsync($"/webhooks/twilio/status/{tenant.Id}", Status(callSid, status))).StatusCode);
        }
        Assert.Equal(HttpStatusCode.NoContent, (await PostSignedAsync($"/webhooks/twilio/status/{tenant.Id}", Status(callSid, "completed", "Thu, 30 Jul 2015 20:12:31 +0000"))).StatusCode);

        var call = Assert.Single(await factory.WithDbAsync(tenant.Id, db => db.Calls.AsNoTracking().ToListAsync()));
        Assert.True(call.ProviderCallId.Length <= 64 && call.CallSid == call.ProviderCallId, call.ProviderCallId);
        Assert.Equal(new DateTimeOffset(2015, 7, 30, 20, 12, 31, TimeSpan.Zero), call.EndedAt);
        Assert.Equal(3, await factory.WithDbAsync(tenant.Id, db => db.CallEvents.CountAsync(e => e.CallId == call.Id && e.Type == "twilio.status")));
    }

    [Fact]
    public async Task RecordingSidLongerThanItsColumnIsStoredOnceAndUpdated()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var recordingSid = "RE" + new string('9', 70);
        Dictionary<string, string> Recording(string status) => new()
        {
            ["AccountSid"] = TwilioSimulator.AccountSid, ["CallSid"] = NewSid("CA"), ["RecordingSid"] = recordingSid, ["RecordingStatus"] = status,
            ["RecordingChannels"] = "1", ["RecordingDuration"] = status == "completed" ? "61" : "",
        };

        Assert.Equal(HttpStatusCode.NoContent, (await PostSignedAsync($"/webhooks/twilio/recording/{tenant.Id}", Recording("in-progress"))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await PostSignedAsync($"/webhooks/twilio/recording/{tenant.Id}", Recording("completed"))).StatusCode);

        var recording = Assert.Single(await factory.WithDbAsync(tenant.Id, db => db.CallRecordings.AsNoTracking().ToListAsync()));
        Assert.Equal(("completed", 61), (recording.Status, recording.DurationSeconds));
        Assert.True(recording.RecordingSid.Length <= 64);
    }

    private static readonly string[] Hooks = ["voice", "voice/{0}/stream-ended", "voice/{0}/recorded", "status", "recording", "sms"];

    private static readonly string[] NastyText =
    [
        "", " ", "1e400", "NaN", "-1", "0x1F", "99999999999", "2147483648", "\0", "a\0b", "\uD800", "x\uDC00", "\uD83D\uDE00 \u202E\u0645\u0631\u062D\u0628\u0627",
        "<Say>hi</Say>", "<![CDATA[x]]>", "\r\n", new string('x', 1024), new string('y', 60_000), "CA" + new string('7', 99), "RE" + new string('9', 70),
        "Fri, 31 Dec 9999 23:59:59 -0100", "Mon, 01 Jan 0001 00:00:00 +0100", "Thu, 30 Jul 2015 20:12:31 +9999", "Thu, 30 Jul 2015 25:12:31 +0000",
        "'; DROP TABLE calls; --", "completed", "busy", "absent",
    ];

    private static Dictionary<string, string> BaseForm(string callSid) => new()
    {
        ["AccountSid"] = TwilioSimulator.AccountSid, ["ApiVersion"] = "2010-04-01", ["CallSid"] = callSid, ["CallStatus"] = "completed",
        ["From"] = "+15145550123", ["To"] = "+15145550199", ["Direction"] = "inbound", ["CallDuration"] = "42", ["Timestamp"] = "Thu, 30 Jul 2015 20:12:31 +0000",
        ["RecordingSid"] = NewSid("RE"), ["RecordingStatus"] = "completed", ["RecordingUrl"] = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        ["RecordingDuration"] = "14", ["RecordingChannels"] = "1", ["MessageSid"] = NewSid("SM"), ["Body"] = "Fuite au sous-sol", ["NumMedia"] = "0",
    };

    [Fact]
    public async Task AnyValueInAnyTwilioFieldIsStoredOrRefusedWithA4xxAndEveryCallStaysReadable()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var fields = BaseForm("CA").Keys.ToArray();
        var gen = Gen.Select(Gen.Int[0, Hooks.Length - 1], Gen.Int[0, fields.Length], Gen.Frequency(
            (5, Gen.Int[0, NastyText.Length - 1].Select(i => NastyText[i])), (2, Gen.String), (1, Gen.Int.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)))),
            Gen.Bool);

        await gen.SampleAsync(async (hook, field, value, remove) =>
        {
            var callSid = NewSid("CA");
            var form = BaseForm(callSid);
            var name = field == fields.Length ? "Extra" + value.Length : fields[field]; // the last index adds an unknown key
            if (remove && field < fields.Length)
            {
                form.Remove(name);
            }
            else
            {
                form[name] = value;
            }
            var path = $"/webhooks/twilio/{string.Format(System.Globalization.CultureInfo.InvariantCulture, Hooks[hook], tenant.Id)}";
            if (!Hooks[hook].Contains("{0}"))
            {
                path += $"/{tenant.Id}";
            }

            var response = await PostSignedAsync(path, form);

            await BadInput.AssertNoServerErrorAsync(response, $"{path} {name}={(remove ? "(removed)" : value[..Math.Min(value.Length, 60)])}");
        }, seed: VapiPayloadPropertyTests.Seed, iter: Math.Max(50, VapiPayloadPropertyTests.Iterations / 2), threads: 1);

        await BadInput.AssertEverythingReadableAsync(factory, tenant);
    }
}
