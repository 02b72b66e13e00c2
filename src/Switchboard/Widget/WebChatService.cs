using System.Collections.Concurrent;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Switchboard.Assistants;
using Switchboard.Brain;
using Switchboard.Calls;
using Switchboard.Credentials;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;

namespace Switchboard.Widget;

/// <summary>
/// Answers a visitor's message (SSE events: <c>delta</c> <c>{text}</c>, <c>tool</c> <c>{name}</c>, <c>lead</c>
/// <c>{urgency, staffAlerted}</c>, <c>done</c> <c>{messageId, brain}</c>) in a web chat (DESIGN.md flow 3): the visitor's words are already stored; the tenant's
/// OpenAI-compatible model answers with the shared tools when one is configured (the tenant's <c>openai</c> credential,
/// else the platform's <see cref="BrainOptions"/>), the <see cref="OfflineReceptionist"/> otherwise or when the model
/// fails (an error status, a timeout, <c>insufficient_quota</c>); its reply streams as SSE events, and the
/// answer is stored as the call's next assistant turn. Tools write in their own commits so an emergency SMS leaves at once.
/// </summary>
internal sealed class WebChatService(
    SwitchboardDbContext db, ToolRegistry tools, CredentialStore credentials, ModelBrain model, IKnowledgeLookup knowledge,
    IOptions<BrainOptions> brainOptions, SqliteWriteGate writes, TimeProvider clock, ILogger<WebChatService> logger)
{
    /// <summary>Streams the answer to the visitor's last stored turn.</summary>
    public async IAsyncEnumerable<SseItem<object>> ReplyAsync(
        Tenant tenant, WebConversation conversation, Call call, string text, string messageId, [EnumeratorCancellation] CancellationToken ct)
    {
        var assistant = await db.Assistants.AsNoTracking().Where(a => a.IsDefault).FirstOrDefaultAsync(ct);
        var target = await TargetAsync(ct);
        var answer = new StringBuilder();
        var brain = "offline";
        if (target is not null)
        {
            brain = "model";
            var side = new ConcurrentQueue<BrainEvent>();
            // The business's industry words the prompt and the tools: a dental clinic's model hears of toothaches, not burst pipes.
            var wording = BusinessWording.For(await IndustryAsync(ct), tenant.UrgencyRules);
            var history = await HistoryAsync(tenant, assistant, conversation, call, wording, ct);
            var registryTools = RegistryTool.All((name, args, c) => InvokeToolAsync(tenant, assistant, call, name, args, side, c), wording);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(brainOptions.Value.TimeoutSeconds));
            await using var stream = model.ReplyAsync(target, history, registryTools, side, timeout.Token).GetAsyncEnumerator(timeout.Token);
            while (true)
            {
                BrainEvent? next;
                try
                {
                    next = await stream.MoveNextAsync() ? stream.Current : null;
                }
                catch (Exception e) when (!ct.IsCancellationRequested && e is not OutOfMemoryException)
                {
                    logger.LogWarning(e, "Chat model failed on conversation {ConversationId}; the offline receptionist answers", conversation.Id);
                    brain = "offline";
                    break;
                }
                if (next is null)
                {
                    break;
                }
                switch (next)
                {
                    case TextDelta d:
                        answer.Append(d.Text);
                        yield return Event("delta", new { text = d.Text });
                        break;
                    case ToolRan t:
                        yield return Event("tool", new { name = t.Name });
                        break;
                    case LeadCaptured l:
                        yield return Event("lead", new { urgency = l.Urgency, staffAlerted = l.StaffAlerted });
                        break;
                }
            }
            if (brain == "model" && answer.Length == 0)
            {
                brain = "offline"; // an empty answer helps nobody
            }
            else if (brain == "offline" && answer.Length > 0)
            {
                answer.Append("\n\n"); // the model failed mid-answer: the offline receptionist continues below
                yield return Event("delta", new { text = "\n\n" });
            }
        }
        if (brain == "offline")
        {
            var state = ReceptionistState.Read(conversation.StateJson);
            var passages = await knowledge.SearchAsync(tenant.Id, text, 1, ct);
            var onCall = AlertPolicy.For(tenant, assistant).OnCallNumbers.Count > 0; // AlertService's recipients of an emergency
            // The business's industry words the questions: a dental clinic is not asked for "the address of the job".
            var industry = await IndustryAsync(ct);
            var reply = OfflineReceptionist.Answer(tenant, state, text, conversation.Language, clock.GetUtcNow(), passages.FirstOrDefault(), onCall, industry);
            conversation.StateJson = state.Write();
            if (reply.CaptureArguments is { } args)
            {
                var output = await InvokeToolAsync(tenant, assistant, call, ToolRegistry.CaptureLead, args, null, ct);
                if (Lead(output) is { } lead)
                {
                    yield return Event("lead", new { urgency = lead.Urgency, staffAlerted = lead.StaffAlerted });
                }
            }
            foreach (var piece in Pieces(reply.Text))
            {
                answer.Append(piece);
                yield return Event("delta", new { text = piece });
            }
        }
        conversation.Brain = brain;
        await StoreAssistantTurnAsync(call, answer.ToString(), ct);
        yield return Event("done", new { messageId, brain });
    }

    /// <summary>The chat model of the current tenant: its own <c>openai</c> credential, else the platform's; null for none.</summary>
    public async Task<ChatModelTarget?> TargetAsync(CancellationToken ct)
    {
        var o = brainOptions.Value;
        if (await credentials.GetOpenAiAsync(ct) is { } own)
        {
            return new ChatModelTarget(own.BaseUrl, own.ApiKey, o.Model);
        }
        return string.IsNullOrEmpty(o.ApiKey) ? null : new ChatModelTarget(o.BaseUrl, o.ApiKey, o.Model);
    }

    /// <summary>The current tenant's recorded industry (<c>TenantAccount.Industry</c>), null when it recorded none.</summary>
    private Task<string?> IndustryAsync(CancellationToken ct) => db.TenantAccounts.AsNoTracking().Select(a => a.Industry).FirstOrDefaultAsync(ct);

    private async Task<List<ChatMessage>> HistoryAsync(Tenant tenant, Assistant? assistant, WebConversation conversation, Call call,
        BusinessWording wording, CancellationToken ct)
    {
        var zone = BusinessHoursCalculator.Zone(tenant.TimeZone);
        var local = TimeZoneInfo.ConvertTime(clock.GetUtcNow(), zone).ToString("dddd yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture);
        var system = $"""
            {assistant?.Instructions ?? $"You are the receptionist of {tenant.Name}."}
            You are answering a web chat on {tenant.Name}'s website. Local time: {local} ({tenant.TimeZone}). The visitor's language: {conversation.Language}; answer in the language the visitor writes in.
            Keep answers short (at most 3 sentences). Use search_knowledge_base (when available) for questions about the business, check_business_hours for hours.
            """ + "\n" + wording.UrgencyLines(tenant.Name, tenant.UrgencyRules,
                "As soon as you know the {0} and a callback number, call capture_lead (name, phone, address, problem, urgency; budget, authority, need, timeline when known).").TrimEnd('\n');
        var messages = new List<ChatMessage> { new(ChatRole.System, system) };
        var turns = await db.TranscriptTurns.AsNoTracking().Where(t => t.CallId == call.Id && (t.Role == "user" || t.Role == "assistant"))
            .OrderBy(t => t.Seq).Select(t => new { t.Role, t.Text }).ToListAsync(ct);
        messages.AddRange(turns.TakeLast(40).Select(t => new ChatMessage(t.Role == "user" ? ChatRole.User : ChatRole.Assistant, t.Text)));
        return messages;
    }

    /// <summary>Runs a registry tool on the chat's call and commits what it wrote (lead, SMS, webhook events, outbox).</summary>
    private async Task<string> InvokeToolAsync(Tenant tenant, Assistant? assistant, Call call, string name, JsonElement arguments,
        ConcurrentQueue<BrainEvent>? side, CancellationToken ct)
    {
        var outcome = await tools.InvokeAsync(name, arguments, new ToolContext(tenant, assistant, call), ct);
        if (name == ToolRegistry.CaptureLead && outcome.Error is null)
        {
            var phone = db.Leads.Local.FirstOrDefault(l => l.CallId == call.Id)?.Phone;
            if (phone is not null && call.CustomerNumber is null)
            {
                call.CustomerNumber = phone; // erasure by phone number finds the chat like a call
            }
        }
        call.UpdatedAt = clock.GetUtcNow();
        await SaveAsync(ct);
        var output = outcome.Error is null ? outcome.Result ?? "{}" : JsonSerializer.Serialize(new { error = outcome.Error });
        if (side is not null)
        {
            side.Enqueue(new ToolRan(name, arguments.GetRawText(), output));
            if (name == ToolRegistry.CaptureLead && Lead(output) is { } lead)
            {
                side.Enqueue(lead);
            }
        }
        return output;
    }

    private static LeadCaptured? Lead(string output)
    {
        try
        {
            using var doc = JsonDocument.Parse(output);
            var root = doc.RootElement;
            return root.ValueKind == JsonValueKind.Object && root.TryGetProperty("captured", out var c) && c.ValueKind == JsonValueKind.True
                ? new LeadCaptured(root.TryGetProperty("urgency", out var u) ? u.GetString() ?? Urgency.Routine : Urgency.Routine,
                    root.TryGetProperty("staffAlerted", out var s) && s.ValueKind == JsonValueKind.True)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private async Task StoreAssistantTurnAsync(Call call, string text, CancellationToken ct)
    {
        if (text.Length > 0)
        {
            await AddTurnAsync(db, call, "assistant", text, clock.GetUtcNow(), ct);
        }
        await SaveAsync(ct);
    }

    /// <summary>Adds the call's next transcript turn (sequence after the stored and pending ones).</summary>
    public static async Task AddTurnAsync(SwitchboardDbContext db, Call call, string role, string text, DateTimeOffset now, CancellationToken ct)
    {
        var pending = db.TranscriptTurns.Local.Where(t => t.CallId == call.Id).Select(t => t.Seq).DefaultIfEmpty(-1).Max();
        var stored = await db.TranscriptTurns.Where(t => t.CallId == call.Id).Select(t => (int?)t.Seq).MaxAsync(ct) ?? -1;
        db.TranscriptTurns.Add(new TranscriptTurn
        {
            Id = Guid.CreateVersion7(),
            TenantId = call.TenantId,
            CallId = call.Id,
            Seq = Math.Max(pending, stored) + 1,
            Role = role,
            Text = text,
            At = now,
            SecondsFromStart = call.StartedAt is { } s ? Math.Round((now - s).TotalSeconds, 3) : null,
        });
    }

    private async Task SaveAsync(CancellationToken ct)
    {
        using var turn = await writes.EnterAsync(db, ct);
        await db.SaveChangesAsync(ct);
    }

    private static SseItem<object> Event(string type, object data) => new(data, type);

    /// <summary>The offline answer in a few pieces, so it streams like a model's.</summary>
    private static IEnumerable<string> Pieces(string text)
    {
        var words = text.Split(' ');
        for (var i = 0; i < words.Length; i += 4)
        {
            yield return string.Join(' ', words.Skip(i).Take(4)) + (i + 4 < words.Length ? " " : "");
        }
    }
}
