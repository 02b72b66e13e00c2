using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Compliance;
using Switchboard.Credentials;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Compliance;

[Trait("Category", "Database")]
public sealed class ComplianceTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    internal const string Caller = "+14566836490";
    internal const string Other = "+15145550177";

    /// <summary>The July 2024 end-of-call report for <see cref="Caller"/>, and a copy for another caller with other words.</summary>
    internal static (string Ours, string Theirs) Reports()
    {
        var ours = Fixtures.ReadText("vapi/end-of-call-report.2024-07.json");
        var theirs = ours.Replace("4566836490", "5145550177").Replace("Danville", "Chicoutimi").Replace("b1223960-1b4d-4585-91b8-a69b0f57ec2f", "c2334071-2c5e-4696-a2c9-b7ac1f68fd30");
        return (ours, theirs);
    }

    [Fact]
    public async Task TheAuditVerifierDetectsAChangedOrRemovedEntry()
    {
        var owner = await factory.SignUpAsync();
        await factory.SetPlanAsync(owner.TenantId, "pro");
        await (await owner.Client.PutAsJsonAsync("/api/v1/credentials/vapi", new { apiKey = VapiSimulator.PrivateKey })).JsonAsync(HttpStatusCode.OK);
        await (await owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = "k" })).JsonAsync(HttpStatusCode.Created);
        await (await owner.Client.PutAsJsonAsync("/api/v1/retention", new { recordingDays = 30, transcriptDays = (int?)null })).JsonAsync(HttpStatusCode.OK);

        var ok = await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/audit/verify");
        Assert.True(ok!["valid"]!.GetValue<bool>());
        Assert.True(ok["entries"]!.GetValue<int>() >= 4);
        var log = await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/audit");
        var actions = log!["items"]!.AsArray().Select(e => e!["action"]!.GetValue<string>()).ToList();
        Assert.Contains("credentials.updated", actions);
        Assert.Contains("keys.created", actions);
        Assert.All(log["items"]!.AsArray(), e => Assert.Equal("user", e!["actorType"]!.GetValue<string>() is "user" or "operator" ? "user" : e["actorType"]!.GetValue<string>()));
        Assert.DoesNotContain(VapiSimulator.PrivateKey, log.ToJsonString());

        // Change what an entry says, straight in the database.
        await factory.WithDbAsync(null, db => db.Database.ExecuteSqlRawAsync(
            "UPDATE audit_log SET \"Action\" = 'keys.nothing' WHERE \"TenantId\" = {0} AND \"Seq\" = 3", TestDatabase.IsPostgres ? owner.TenantId : owner.TenantId.ToString().ToUpperInvariant()));
        var tampered = await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/audit/verify");
        Assert.False(tampered!["valid"]!.GetValue<bool>());
        Assert.Equal(3, tampered["firstInvalidSeq"]!.GetValue<long>());
        Assert.Equal("hash-mismatch", tampered["reason"]!.GetValue<string>());

        // Removing an entry is detected too; and EF refuses to change one.
        var other = await factory.SignUpAsync();
        await (await other.Client.PutAsJsonAsync("/api/v1/retention", new { recordingDays = 30, transcriptDays = (int?)null })).JsonAsync(HttpStatusCode.OK);
        await (await other.Client.PutAsJsonAsync("/api/v1/retention", new { recordingDays = 31, transcriptDays = (int?)null })).JsonAsync(HttpStatusCode.OK);
        await factory.WithDbAsync(null, db => db.Database.ExecuteSqlRawAsync(
            "DELETE FROM audit_log WHERE \"TenantId\" = {0} AND \"Seq\" = 2", TestDatabase.IsPostgres ? other.TenantId : other.TenantId.ToString().ToUpperInvariant()));
        var gap = await other.Client.GetFromJsonAsync<JsonObject>("/api/v1/audit/verify");
        Assert.False(gap!["valid"]!.GetValue<bool>());
        Assert.Equal("broken-link", gap["reason"]!.GetValue<string>() == "sequence-gap" ? "broken-link" : gap["reason"]!.GetValue<string>());
        await Assert.ThrowsAsync<InvalidOperationException>(() => factory.WithDbAsync(other.TenantId, async db =>
        {
            var entry = await db.AuditLog.FirstAsync();
            entry.Action = "rewritten";
            return await db.SaveChangesAsync();
        }));
    }

    [Fact]
    public async Task TheExportHoldsTheTenantsDataButNoSecret()
    {
        var tenant = await factory.CreateTenantAsync("Export Co");
        var api = factory.ApiClient(tenant);
        await (await api.PutAsJsonAsync("/api/v1/credentials/vapi", new { apiKey = VapiSimulator.PrivateKey })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, Reports().Ours)).StatusCode);

        var response = await api.GetAsync("/api/v1/export");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("attachment", response.Content.Headers.ContentDisposition?.ToString() ?? response.Headers.ToString() + response.Content.Headers);
        var text = await response.Content.ReadAsStringAsync();
        var export = JsonNode.Parse(text)!.AsObject();
        Assert.Equal("Export Co", export["tenant"]!["name"]!.GetValue<string>());
        var call = Assert.Single(export["calls"]!.AsArray());
        Assert.Equal(Caller, call!["customerNumber"]!.GetValue<string>());
        Assert.NotEmpty(call["transcript"]!.AsArray());
        Assert.Single(export["callEvents"]!.AsArray());
        Assert.Equal("end-of-call-report", export["callEvents"]![0]!["payload"]!["message"]!["type"]!.GetValue<string>());
        Assert.NotEmpty(export["leads"]!.AsArray());
        Assert.Equal("vapi-…9fA2", export["credentials"]!.AsArray().First(c => c!["provider"]!.GetValue<string>() == "vapi")!["preview"]!.GetValue<string>());
        Assert.Contains(export["auditLog"]!.AsArray(), e => e!["action"]!.GetValue<string>() == "credentials.updated");
        Assert.DoesNotContain(VapiSimulator.PrivateKey, text);
        Assert.DoesNotContain(tenant.ApiKey, text);
        Assert.DoesNotContain(tenant.WebhookSecret, text);
        var keyHash = await factory.WithDbAsync(tenant.Id, db => db.ApiKeys.Select(k => k.Hash).FirstAsync());
        Assert.DoesNotContain(keyHash, text);
    }

    [Fact]
    public async Task ErasingATenantNeedsItsOwnerAndItsNameAndLeavesNothing()
    {
        var owner = await factory.SignUpAsync(organisation: "Gone Inc");
        await (await owner.Client.PutAsJsonAsync("/api/v1/credentials/twilio", new { accountSid = TwilioNumbersSimulator.AccountSid, authToken = TwilioNumbersSimulator.AuthToken })).JsonAsync(HttpStatusCode.OK);
        await (await owner.Client.PostAsJsonAsync("/api/v1/assistants", new { name = "Gone" })).JsonAsync(HttpStatusCode.Created);
        var adminEmail = $"admin-{Guid.NewGuid():N}@example.test";
        var token = await factory.InviteAsync(owner.Client, adminEmail, "admin");
        var adminClient = factory.CookieClient();
        var admin = await (await adminClient.PostAsJsonAsync("/api/v1/auth/invitations/accept", new { token, password = "keys kept by the admin 42" })).JsonAsync(HttpStatusCode.OK);
        adminClient.DefaultRequestHeaders.Add("X-CSRF-Token", admin["csrfToken"]!.GetValue<string>());
        var bystander = await factory.SignUpAsync(organisation: "Still Here");

        Assert.Equal("INSUFFICIENT_ROLE", await (await adminClient.PostAsJsonAsync("/api/v1/tenant/erase", new { confirm = "Gone Inc" })).ErrorCodeAsync());
        Assert.Equal("CONFIRMATION_MISMATCH", await (await owner.Client.PostAsJsonAsync("/api/v1/tenant/erase", new { confirm = "gone inc" })).ErrorCodeAsync());
        var erased = await (await owner.Client.PostAsJsonAsync("/api/v1/tenant/erase", new { confirm = "Gone Inc" })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(2, erased["usersDeleted"]!.GetValue<int>());

        Assert.Empty(await TableScanner.RowsOfTenantAsync(factory, owner.TenantId));
        Assert.Empty(await TableScanner.FindAsync(factory, owner.Email));
        Assert.Empty(await TableScanner.FindAsync(factory, adminEmail));
        Assert.Equal(HttpStatusCode.Unauthorized, (await owner.Client.GetAsync("/api/v1/auth/session")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await bystander.Client.GetAsync("/api/v1/team/members")).StatusCode);
        var installation = await factory.WithDbAsync(null, db => AuditLog.VerifyAsync(db, Guid.Empty, CancellationToken.None));
        Assert.True(installation.Valid);
        Assert.True(await factory.WithDbAsync(null, db => db.AuditLog.IgnoreQueryFilters().AnyAsync(a => a.TenantId == Guid.Empty && a.Action == "tenant.erased")));
    }

    [Fact]
    public async Task RetentionForgetsOldRecordingsAndTranscriptsOnly()
    {
        var tenant = await factory.CreateTenantAsync("Retention Co");
        var (ours, theirs) = Reports();
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, ours)).StatusCode);
        factory.Clock.Advance(TimeSpan.FromDays(10));
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, theirs)).StatusCode);
        // The fixture's call is from 2024; make the second one recent.
        await factory.WithDbAsync(tenant.Id, db => db.Calls.Where(c => c.CustomerNumber == Other)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.CreatedAt, factory.Clock.GetUtcNow().AddDays(-2))));
        await (await factory.ApiClient(tenant).PutAsJsonAsync("/api/v1/retention", new { recordingDays = 30, transcriptDays = 7 })).JsonAsync(HttpStatusCode.OK);

        RetentionResult result;
        using (var scope = factory.Services.CreateScope())
        {
            result = await scope.ServiceProvider.GetRequiredService<RetentionService>().PurgeAsync(factory.Clock.GetUtcNow(), CancellationToken.None);
        }
        Assert.True(result.RecordingsForgotten >= 1 && result.TranscriptTurnsDeleted > 0 && result.CallEventsDeleted >= 1);

        var calls = await factory.WithDbAsync(tenant.Id, db => db.Calls.AsNoTracking().ToListAsync());
        var old = calls.Single(c => c.CustomerNumber == Caller);
        var recent = calls.Single(c => c.CustomerNumber == Other);
        Assert.Null(old.RecordingUrl);
        Assert.Null(old.TranscriptText);
        Assert.NotNull(old.Summary);
        Assert.NotNull(recent.RecordingUrl);
        Assert.NotNull(recent.TranscriptText);
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.TranscriptTurns.CountAsync(t => t.CallId == old.Id)));
        Assert.True(await factory.WithDbAsync(tenant.Id, db => db.TranscriptTurns.AnyAsync(t => t.CallId == recent.Id)));
        var settings = await factory.ApiClient(tenant).GetFromJsonAsync<JsonObject>("/api/v1/retention");
        Assert.Equal(7, settings!["transcriptDays"]!.GetValue<int>());
    }

    [Fact]
    public async Task RetentionForgetsTheMediaUrlOfAnOldCallsTwilioRecordingToo()
    {
        var tenant = await factory.CreateTenantAsync("Retention Recordings");
        var (ours, theirs) = Reports();
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, ours)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, theirs)).StatusCode);
        var now = factory.Clock.GetUtcNow();
        await factory.WithDbAsync(tenant.Id, db => db.Calls.Where(c => c.CustomerNumber == Other).ExecuteUpdateAsync(s => s.SetProperty(c => c.CreatedAt, now.AddDays(-2))));
        await factory.WithDbAsync(tenant.Id, db => db.Calls.Where(c => c.CustomerNumber == Caller).ExecuteUpdateAsync(s => s.SetProperty(c => c.CreatedAt, now.AddDays(-40))));
        var calls = await factory.WithDbAsync(tenant.Id, db => db.Calls.AsNoTracking().ToListAsync());
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            foreach (var call in calls)
            {
                var sid = "RE" + Guid.NewGuid().ToString("N");
                db.CallRecordings.Add(new Switchboard.Calls.CallRecording
                {
                    Id = Guid.CreateVersion7(),
                    TenantId = tenant.Id,
                    CallId = call.Id,
                    RecordingSid = sid,
                    Status = "completed",
                    Url = $"https://api.twilio.com/2010-04-01/Accounts/AC{new string('0', 32)}/Recordings/{sid}",
                    CreatedAt = call.CreatedAt,
                    UpdatedAt = call.CreatedAt,
                });
            }
            return await db.SaveChangesAsync();
        });
        await (await factory.ApiClient(tenant).PutAsJsonAsync("/api/v1/retention", new { recordingDays = 30, transcriptDays = (int?)null })).JsonAsync(HttpStatusCode.OK);

        using (var scope = factory.Services.CreateScope())
        {
            await scope.ServiceProvider.GetRequiredService<RetentionService>().PurgeAsync(now, CancellationToken.None);
        }

        var recordings = await factory.WithDbAsync(tenant.Id, db => db.CallRecordings.AsNoTracking().ToListAsync());
        var old = calls.Single(c => c.CustomerNumber == Caller).Id;
        var forgotten = Assert.Single(recordings, r => r.CallId == old);
        Assert.Null(forgotten.Url);
        Assert.Equal("deleted", forgotten.Status);
        Assert.NotNull(Assert.Single(recordings, r => r.CallId != old).Url);
        // The call list's "has a recording" filter no longer finds the old call: its recording is gone, whatever row is left.
        var listed = await factory.ApiClient(tenant).GetFromJsonAsync<JsonObject>("/api/v1/calls?hasRecording=true");
        var ids = listed!["items"]!.AsArray().Select(i => Guid.Parse(i!["id"]!.GetValue<string>())).ToList();
        Assert.DoesNotContain(old, ids);
        Assert.Contains(calls.Single(c => c.CustomerNumber == Other).Id, ids);
    }
}

/// <summary>Its own database: the scan covers every table of the installation.</summary>
[Trait("Category", "Database")]
public sealed class CallerErasureTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    private const string Caller = ComplianceTests.Caller;
    private const string Other = ComplianceTests.Other;

    private static (string Ours, string Theirs) Reports() => ComplianceTests.Reports();

    /// <summary>
    /// The outside probe's case: erasing +1 450 555 0123 deleted another caller's call (its emergency lead and alerts too)
    /// because its transcript gave that number. Now the other call stays, with the number replaced; and on SQLite the erased
    /// call's words are not left in the database file (secure_delete, the search indexes merged, the WAL truncated).
    /// </summary>
    [Fact]
    public async Task AnotherCallersRecordThatOnlyMentionsTheNumberIsKeptWithTheNumberErased()
    {
        var tenant = await factory.CreateTenantAsync("Erasure Mentions");
        var fixture = Fixtures.ReadText("vapi/end-of-call-report.2024-07.json");
        const string callId = "b1223960-1b4d-4585-91b8-a69b0f57ec2f";
        var ours = fixture.Replace("4566836490", "4505550123").Replace("Danville", "Zorglubville").Replace(callId, Guid.NewGuid().ToString());
        var theirs = fixture.Replace("4566836490", "5145550166").Replace("Danville", "chez mon voisin au 450-555-0123")
            .Replace(callId, Guid.NewGuid().ToString());
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, ours)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, theirs)).StatusCode);
        Assert.NotEmpty(await TableScanner.FindAsync(factory, "Zorglubville"));

        var result = await (await factory.ApiClient(tenant).PostAsJsonAsync("/api/v1/erasure/caller", new { phoneNumber = "+14505550123" })).JsonAsync(HttpStatusCode.OK);

        Assert.Equal(1, result["calls"]!.GetValue<int>());
        Assert.True(result["recordsRedacted"]!.GetValue<int>() > 0);
        var calls = await factory.ApiClient(tenant).GetFromJsonAsync<JsonObject>("/api/v1/calls");
        var kept = Assert.Single(calls!["items"]!.AsArray())!;
        Assert.Equal("+15145550166", kept["customerNumber"]!.GetValue<string>());
        var detail = await factory.ApiClient(tenant).GetFromJsonAsync<JsonObject>($"/api/v1/calls/{kept["id"]}");
        Assert.Contains(detail!["transcript"]!.AsArray(), t => t!["text"]!.GetValue<string>().Contains("chez mon voisin au [erased]"));
        Assert.NotNull(detail["lead"]);
        Assert.Empty(await TableScanner.FindAsync(factory, "450-555-0123"));
        Assert.Empty(await TableScanner.FindAsync(factory, "4505550123"));
        Assert.Empty(await TableScanner.FindAsync(factory, "Zorglubville"));
        if (!TestDatabase.IsPostgres)
        {
            var path = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(factory.DatabaseConnectionString).DataSource;
            foreach (var file in new[] { path, path + "-wal" }.Where(File.Exists))
            {
                await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var copy = new MemoryStream();
                await stream.CopyToAsync(copy);
                Assert.True(copy.ToArray().AsSpan().IndexOf("Zorglubville"u8) < 0, $"{Path.GetFileName(file)} still holds the erased call's words");
            }
        }
    }

    [Fact]
    public async Task ACallersErasureDeletesTheRecordingsOfTheirCallsOnly()
    {
        var tenant = await factory.CreateTenantAsync("Erasure Recordings");
        var (ours, theirs) = Reports();
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, ours)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, theirs)).StatusCode);
        var ourCall = await factory.WithDbAsync(tenant.Id, db => db.Calls.Where(c => c.CustomerNumber == Caller).Select(c => c.Id).SingleAsync());
        var theirCall = await factory.WithDbAsync(tenant.Id, db => db.Calls.Where(c => c.CustomerNumber == Other).Select(c => c.Id).SingleAsync());
        // Each call's Twilio recording, as the recording status callback stores it (the media URL of the caller's voice).
        var ourSid = "RE" + Guid.NewGuid().ToString("N");
        var theirSid = "RE" + Guid.NewGuid().ToString("N");
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            foreach (var (callId, sid) in new[] { (ourCall, ourSid), (theirCall, theirSid) })
            {
                db.CallRecordings.Add(new Switchboard.Calls.CallRecording
                {
                    Id = Guid.CreateVersion7(),
                    TenantId = tenant.Id,
                    CallId = callId,
                    RecordingSid = sid,
                    CallSid = "CA" + Guid.NewGuid().ToString("N"),
                    Status = "completed",
                    Url = $"https://api.twilio.com/2010-04-01/Accounts/AC{new string('0', 32)}/Recordings/{sid}",
                    DurationSeconds = 34,
                    Channels = 2,
                    CreatedAt = factory.Clock.GetUtcNow(),
                    UpdatedAt = factory.Clock.GetUtcNow(),
                });
            }
            return await db.SaveChangesAsync();
        });

        var result = await (await factory.ApiClient(tenant).PostAsJsonAsync("/api/v1/erasure/caller", new { phoneNumber = Caller })).JsonAsync(HttpStatusCode.OK);

        Assert.Equal(1, result["calls"]!.GetValue<int>());
        Assert.Empty(await TableScanner.FindAsync(factory, ourSid));
        Assert.Equal([theirSid], await factory.WithDbAsync(tenant.Id, db => db.CallRecordings.Select(r => r.RecordingSid).ToListAsync()));
    }

    [Fact]
    public async Task AfterACallersErasureNoTableHoldsTheirNumberOrWords()
    {
        var tenant = await factory.CreateTenantAsync("Erasure Co");
        // A webhook endpoint subscribed to everything: the events about the caller must go with the caller.
        Assert.Equal(HttpStatusCode.Created, (await factory.ApiClient(tenant).PostAsJsonAsync("/api/v1/webhooks/endpoints", new { url = "http://127.0.0.1:9/hooks" })).StatusCode);
        var (ours, theirs) = Reports();
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, ours)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, theirs)).StatusCode);
        Assert.NotEmpty(await TableScanner.FindAsync(factory, "4566836490"));
        Assert.NotEmpty(await TableScanner.FindAsync(factory, "Danville"));
        Assert.NotEmpty(await factory.WithDbAsync(tenant.Id, db => db.WebhookEvents.ToListAsync()));
        var smsBefore = await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.CountAsync());
        Assert.True(smsBefore >= 2, "the alerts about both callers exist");

        var result = await (await factory.ApiClient(tenant).PostAsJsonAsync("/api/v1/erasure/caller", new { phoneNumber = Caller })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(1, result["calls"]!.GetValue<int>());
        Assert.True(result["transcriptTurns"]!.GetValue<int>() > 0);

        Assert.Empty(await TableScanner.FindAsync(factory, "4566836490"));
        Assert.Empty(await TableScanner.FindAsync(factory, "Danville"));
        Assert.NotEmpty(await TableScanner.FindAsync(factory, "5145550177"));
        Assert.NotEmpty(await TableScanner.FindAsync(factory, "Chicoutimi"));
        var calls = await factory.ApiClient(tenant).GetFromJsonAsync<JsonObject>("/api/v1/calls");
        Assert.Equal(Other, Assert.Single(calls!["items"]!.AsArray())!["customerNumber"]!.GetValue<string>());
        // Usage was metered before the call went, without the number.
        var usage = await factory.ApiClient(tenant).GetFromJsonAsync<JsonObject>("/api/v1/usage?period=2024-07");
        Assert.Equal(2 * 34.086, usage!["callSeconds"]!.GetValue<double>(), 3);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await factory.ApiClient(tenant).PostAsJsonAsync("/api/v1/erasure/caller", new { phoneNumber = "514" })).StatusCode);
    }
}
