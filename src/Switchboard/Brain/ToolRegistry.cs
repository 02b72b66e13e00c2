using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Alerts;
using Switchboard.Assistants;
using Switchboard.Calls;
using Switchboard.Knowledge;
using Switchboard.Platform.Database;
using Switchboard.Platform.Phones;
using Switchboard.Tenancy;
using Switchboard.Webhooks;

namespace Switchboard.Brain;

/// <summary>What a tool call runs against: the tenant, its assistant, the conversation (null outside a call) and the host's public base URL (native calls).</summary>
internal sealed record ToolContext(Tenant Tenant, Assistant? Assistant, Call? Call, string? BaseUrl = null);

/// <summary>A tool's answer: <see cref="Result"/> (text for the model) or <see cref="Error"/>.</summary>
internal sealed record ToolOutcome(string? Result, string? Error)
{
    public static ToolOutcome Ok(object value) => new(value as string ?? JsonSerializer.Serialize(value, JsonSerializerOptions.Web), null);
    public static ToolOutcome Fail(string error) => new(null, error);
}

/// <summary>
/// The built-in tools every assistant can use, shared by Vapi <c>tool-calls</c> and the native realtime bridge:
/// <c>capture_lead</c> (name, phone, address, problem, urgency), <c>check_business_hours</c>, <c>end_call</c> (the
/// native bridge hangs up once the goodbye has played), <c>send_sms</c> (a text to the caller, through the outbox) and
/// <c>search_knowledge_base</c> (the tenant's knowledge base, with citations: <see cref="KnowledgeSearch"/>).
/// Tools run inside the caller's unit of work; they never commit.
/// </summary>
internal sealed class ToolRegistry(SwitchboardDbContext db, AlertService alerts, TimeProvider clock, WebhookEventPublisher webhooks, KnowledgeSearch knowledge,
    Outbound.TransferService transfers)
{
    public const string CaptureLead = "capture_lead";
    public const string CheckBusinessHours = "check_business_hours";
    public const string EndCall = "end_call";
    public const string SendSms = "send_sms";
    public const string SearchKnowledgeBase = "search_knowledge_base";

    /// <summary>Live transfer; not in <see cref="Definitions"/>: offered only by assistants that enable it (<see cref="TransferDefinition"/>).</summary>
    public const string TransferCall = "transfer_call";

    /// <summary>
    /// The <c>transfer_call</c> function for an assistant's destinations: <c>{destination (one of the names), reason (the
    /// summary whispered to the person), mode? (warm: announced hand-off, default; cold: straight through)}</c>.
    /// </summary>
    public static JsonObject TransferDefinition(IEnumerable<string> destinations) => new()
    {
        ["name"] = TransferCall,
        ["description"] = "Transfer the caller live to a person. Use it only when the caller asks for a person or the need is beyond you. " +
                          "If the result says the destination is unavailable, do not retry: take a message with capture_lead.",
        ["parameters"] = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["destination"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray([.. destinations.Select(d => (JsonNode?)JsonValue.Create(d))]), ["description"] = "Who to transfer to" },
                ["reason"] = new JsonObject { ["type"] = "string", ["description"] = "One-sentence summary for the person: who calls and what they need" },
                ["mode"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray("warm", "cold"), ["description"] = "warm (default): the person is briefed first; cold: put straight through" },
            },
            ["required"] = new JsonArray("destination", "reason"),
        },
    };

    /// <summary>Passages <c>search_knowledge_base</c> returns (3–5 suit voice: brain-and-knowledge-base.md §4.6).</summary>
    public const int KnowledgeResults = 3;

    /// <summary>Most texts the assistant may send to one caller during one call.</summary>
    public const int MaxCallerSmsPerCall = 3;

    /// <summary>
    /// JSON-schema function definitions of the built-in tools (OpenAI / Vapi <c>function</c> tool shape). <paramref name="wording"/>
    /// words <c>capture_lead</c>'s address and timeline for the business (<see cref="BusinessWording.For"/>: a dental clinic is
    /// not asked for a "service address"); null keeps the trade wording (Vapi assistants, whose prompt is the owner's own).
    /// </summary>
    public static JsonArray Definitions(BusinessWording? wording = null) =>
    [
        new JsonObject
        {
            ["name"] = CaptureLead,
            ["description"] = "Record the caller's details and need so staff can call back. Call it as soon as you know the problem and a callback number; call again to complete the details.",
            ["parameters"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["name"] = new JsonObject { ["type"] = "string", ["description"] = "Caller's full name" },
                    ["phone"] = new JsonObject { ["type"] = "string", ["description"] = "Callback number, E.164 if possible" },
                    ["address"] = new JsonObject { ["type"] = "string", ["description"] = (wording ?? BusinessWording.ByIndustry["plumbing"]).AddressHint },
                    ["problem"] = new JsonObject { ["type"] = "string", ["description"] = "What the caller needs, in their words" },
                    ["urgency"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray("emergency", "soon", "routine") },
                    // Lead qualification (BANT) → Lead.Score (LeadQualification).
                    ["budget"] = new JsonObject { ["type"] = "string", ["description"] = "Budget the caller mentioned, if any" },
                    ["authority"] = new JsonObject { ["type"] = "string", ["description"] = "Whether the caller decides (owner, tenant, manager…)" },
                    ["need"] = new JsonObject { ["type"] = "string", ["description"] = "The service needed, in a few words" },
                    ["timeline"] = new JsonObject { ["type"] = "string", ["description"] = (wording ?? BusinessWording.ByIndustry["plumbing"]).TimelineHint },
                },
                ["required"] = new JsonArray("problem"),
            },
        },
        new JsonObject
        {
            ["name"] = CheckBusinessHours,
            ["description"] = "Tell whether the business is open now, today's hours and the next opening.",
            ["parameters"] = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() },
        },
        new JsonObject
        {
            ["name"] = EndCall,
            ["description"] = "End the call. Use it once the caller's request is handled or they say goodbye; say a short goodbye in the same turn.",
            ["parameters"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject { ["reason"] = new JsonObject { ["type"] = "string", ["description"] = "Why the call ends" } },
            },
        },
        new JsonObject
        {
            ["name"] = SendSms,
            ["description"] = "Send a short text message to the caller's phone (e.g. a confirmation or the business's address).",
            ["parameters"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject { ["message"] = new JsonObject { ["type"] = "string", ["description"] = "The text, at most 320 characters" } },
                ["required"] = new JsonArray("message"),
            },
        },
        new JsonObject
        {
            ["name"] = SearchKnowledgeBase,
            ["description"] = "Search the business's own knowledge base (services, prices and fees, areas served, policies, hours details). " +
                              "Answer only from the passages returned and name their source; if nothing relevant comes back, say you will have someone call back.",
            ["parameters"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["query"] = new JsonObject { ["type"] = "string", ["description"] = "The caller's question, in their words and language" },
                },
                ["required"] = new JsonArray("query"),
            },
        },
    ];

    /// <summary>Runs a tool by name. An unknown tool or bad arguments give an error outcome, never an exception.</summary>
    public async Task<ToolOutcome> InvokeAsync(string? name, JsonElement arguments, ToolContext context, CancellationToken ct) => name switch
    {
        CaptureLead => await CaptureLeadAsync(arguments, context, ct),
        CheckBusinessHours => CheckHours(context),
        EndCall => ToolOutcome.Ok(new { ending = true }),
        SendSms => await SendSmsAsync(arguments, context, ct),
        SearchKnowledgeBase => await SearchKnowledgeAsync(arguments, context, ct),
        TransferCall => await transfers.StartAsync(arguments, context, ct),
        null or "" => ToolOutcome.Fail("Tool name is missing."),
        _ => ToolOutcome.Fail($"Unknown tool '{name}'."),
    };

    private async Task<ToolOutcome> CaptureLeadAsync(JsonElement arguments, ToolContext context, CancellationToken ct)
    {
        var draft = LeadExtractor.FromFields(arguments, "tool", context.Tenant.UrgencyRules);
        if (draft is null)
        {
            return ToolOutcome.Fail("Give at least the caller's problem or a callback number.");
        }
        if (context.Call is null)
        {
            // No conversation to attach the lead to (a tool-calls message that names no call): nothing is stored and nobody is
            // texted, so the model must not promise a callback on the strength of this answer.
            return ToolOutcome.Ok(new
            {
                captured = false,
                urgency = draft.Urgency,
                staffAlerted = false,
                reason = "No call is in progress: the lead was not recorded and nobody was alerted. Do not promise a callback; give the business's phone number instead.",
            });
        }
        // The caller id is a callback number only when it is one: "anonymous", "restricted" (a hidden caller id) is not.
        var callerId = Phones.IsE164(context.Call.CustomerNumber) ? context.Call.CustomerNumber : null;
        var given = Platform.Phones.Phones.Normalize(draft.Phone, Platform.Phones.Phones.RegionOf(context.Tenant.Locale));
        var lead = await UpsertLeadAsync(db, context.Call,
            given is null ? draft with { Phone = callerId, Heard = draft.Heard | HeardFields.Phone } : draft with { Phone = given }, clock.GetUtcNow(), ct);
        LeadQualification.Apply(lead, arguments);
        await webhooks.LeadAsync(lead, ct); // lead.created, lead.urgent
        // An emergency is texted during the call, not after it: the person on call can be on the way before the caller hangs up.
        var alerted = lead.Urgency == Urgency.Emergency
            && await alerts.QueueLeadAlertsAsync(context.Tenant, context.Assistant, context.Call, lead, ct) > 0;
        // Texted now, or earlier in this call (an alert is queued once per call); never claimed when there is nobody on call to
        // text, nor in a web conversation before the visitor gave a number (AlertService waits for one).
        var onCall = AlertPolicy.For(context.Tenant, context.Assistant).OnCallNumbers.Count > 0;
        var callable = Phones.IsE164(lead.Phone);
        var staffAlerted = alerted || (lead.Urgency == Urgency.Emergency && onCall && (callable || context.Call.Channel != CallChannels.Web));
        return callable
            ? ToolOutcome.Ok(new { captured = true, urgency = lead.Urgency, staffAlerted })
            : ToolOutcome.Ok(new
            {
                captured = true, urgency = lead.Urgency, staffAlerted, callbackNumber = (string?)null,
                next = "No callback number yet: ask for one, then call capture_lead again with it."
            });
    }

    private async Task<ToolOutcome> SendSmsAsync(JsonElement arguments, ToolContext context, CancellationToken ct)
    {
        var text = arguments.ValueKind == JsonValueKind.Object && arguments.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String
            ? m.GetString()?.Trim() : null;
        if (string.IsNullOrEmpty(text))
        {
            return ToolOutcome.Fail("Give the message to send.");
        }
        if (context.Call?.CustomerNumber is not { } to || !to.StartsWith('+'))
        {
            return ToolOutcome.Fail("The caller's number is unknown: no text can be sent.");
        }
        if (text.Length > 320)
        {
            text = text[..320];
        }
        var call = context.Call;
        var sent = await db.SmsMessages.CountAsync(s => s.CallId == call.Id && s.Purpose == SmsSendHandler.CallerPurpose, ct)
            + db.Tracked<SmsMessage>().Count(s => s.CallId == call.Id && s.Purpose == SmsSendHandler.CallerPurpose && db.Entry(s).State == EntityState.Added);
        if (sent >= MaxCallerSmsPerCall)
        {
            return ToolOutcome.Fail($"At most {MaxCallerSmsPerCall} texts can be sent during a call.");
        }
        var now = clock.GetUtcNow();
        var key = $"{call.Id:N}:{SmsSendHandler.CallerPurpose}:{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)))[..16]}";
        if (db.Tracked<SmsMessage>().Any(s => s.IdempotencyKey == key) || await db.SmsMessages.AnyAsync(s => s.IdempotencyKey == key, ct))
        {
            return ToolOutcome.Ok(new { sent = true, duplicate = true });
        }
        var sms = new SmsMessage
        {
            Id = Guid.CreateVersion7(),
            TenantId = call.TenantId,
            CallId = call.Id,
            Direction = "outbound",
            Purpose = SmsSendHandler.CallerPurpose,
            To = to,
            Body = text,
            Status = "queued",
            IdempotencyKey = key,
            CreatedAt = now,
        };
        SmsSendHandler.Queue(db, sms, now);
        return ToolOutcome.Ok(new { sent = true });
    }

    /// <summary>
    /// <c>{"found":true,"results":[{"title","heading","text","documentId","chunkId","score"}]}</c>, best first; <c>found:false</c>
    /// with a hint when nothing matches.
    /// </summary>
    private async Task<ToolOutcome> SearchKnowledgeAsync(JsonElement arguments, ToolContext context, CancellationToken ct)
    {
        var query = arguments.ValueKind == JsonValueKind.Object && arguments.TryGetProperty("query", out var q) && q.ValueKind == JsonValueKind.String
            ? q.GetString()?.Trim() : null;
        if (string.IsNullOrEmpty(query))
        {
            return ToolOutcome.Fail("Give the question to search for.");
        }
        var hits = await knowledge.SearchAsync(context.Tenant.Id, query, KnowledgeResults, ct);
        if (hits.Count == 0)
        {
            return ToolOutcome.Ok(new { found = false, results = Array.Empty<object>(), hint = "Nothing in the knowledge base answers this: offer a callback." });
        }
        return ToolOutcome.Ok(new
        {
            found = true,
            results = hits.Select(h => new { title = h.DocumentTitle, heading = h.Heading, text = h.Text, documentId = h.DocumentId, chunkId = h.ChunkId, score = h.Score }),
        });
    }

    private ToolOutcome CheckHours(ToolContext context)
    {
        var now = clock.GetUtcNow();
        var tenant = context.Tenant;
        var zone = BusinessHoursCalculator.Zone(tenant.TimeZone);
        var open = BusinessHoursCalculator.IsOpen(tenant.BusinessHours, tenant.TimeZone, now);
        var next = BusinessHoursCalculator.NextOpening(tenant.BusinessHours, tenant.TimeZone, now);
        return ToolOutcome.Ok(new
        {
            open,
            timeZone = tenant.TimeZone,
            localTime = TimeZoneInfo.ConvertTime(now, zone).ToString("yyyy-MM-dd'T'HH:mm", System.Globalization.CultureInfo.InvariantCulture),
            todayHours = BusinessHoursCalculator.TodayRanges(tenant.BusinessHours, tenant.TimeZone, now),
            nextOpening = next is { } n && !open ? TimeZoneInfo.ConvertTime(n, zone).ToString("yyyy-MM-dd'T'HH:mm", System.Globalization.CultureInfo.InvariantCulture) : null,
        });
    }

    /// <summary>
    /// The call's lead (tracked), compiled once: a tool call and an end-of-call report look it up per call (issue 13: as a LINQ
    /// query EF walked and hashed its expression tree each time to find the cached plan). The tenant filter still applies.
    /// </summary>
    private static readonly Func<SwitchboardDbContext, Guid, CancellationToken, Task<Lead?>> LeadOfCall = EF.CompileAsyncQuery(
        (SwitchboardDbContext db, Guid callId, CancellationToken ct) => db.Leads.FirstOrDefault(l => l.CallId == callId));

    /// <summary>Creates or completes the call's one lead. Declared fields replace stored ones, fields only heard in the caller's words (<see cref="LeadDraft.Heard"/>) fill empty ones, urgency only rises.</summary>
    public static async Task<Lead> UpsertLeadAsync(SwitchboardDbContext db, Call call, LeadDraft draft, DateTimeOffset now, CancellationToken ct)
    {
        // A call added in this unit of work has no stored lead: no query then.
        var lead = db.Tracked<Lead>().FirstOrDefault(l => l.CallId == call.Id)
            ?? (db.Entry(call).State == EntityState.Added ? null : await LeadOfCall(db, call.Id, ct));
        if (lead is null)
        {
            lead = new Lead
            {
                Id = Guid.CreateVersion7(),
                TenantId = call.TenantId,
                CallId = call.Id,
                Urgency = draft.Urgency,
                Source = draft.Source,
                CreatedAt = now,
            };
            db.Leads.Add(lead);
        }
        var before = (lead.Name, lead.Phone, lead.Address, lead.Problem, lead.Urgency);
        // What the caller was only heard to say fills a gap; it never overwrites what a tool or the provider declared.
        lead.Name = draft.Heard.HasFlag(HeardFields.Name) ? lead.Name ?? draft.Name : draft.Name ?? lead.Name;
        lead.Phone = draft.Heard.HasFlag(HeardFields.Phone) ? lead.Phone ?? draft.Phone : draft.Phone ?? lead.Phone;
        lead.Address = draft.Heard.HasFlag(HeardFields.Address) ? lead.Address ?? draft.Address : draft.Address ?? lead.Address;
        lead.Problem = draft.Problem ?? lead.Problem;
        lead.Urgency = Urgency.Max(lead.Urgency, draft.Urgency);
        // A change moves UpdatedAt forward, if only by a tick: lead.updated is keyed by it (WebhookEventPublisher.LeadAsync).
        lead.UpdatedAt = before == (lead.Name, lead.Phone, lead.Address, lead.Problem, lead.Urgency) || now > lead.UpdatedAt ? now : lead.UpdatedAt.AddTicks(1);
        return lead;
    }
}
