using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Calls;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;

namespace Switchboard.Widget;

/// <summary>
/// Ends web chats idle for <see cref="WidgetOptions.IdleMinutes"/>: the call is completed (no duration: a chat is
/// metered per message, not per second), its transcript made final, and it goes through the shared
/// <see cref="PostCallPipeline"/> like a phone call (lead from the visitor's words, SMS alerts by policy, webhooks).
/// </summary>
internal sealed class WebConversationCloser(IServiceScopeFactory scopes, IOptions<WidgetOptions> options, SqliteWriteGate writes, TimeProvider clock)
{
    /// <summary>Closes every idle conversation; returns how many.</summary>
    public async Task<int> CloseIdleAsync(CancellationToken ct)
    {
        var cutoff = clock.GetUtcNow().AddMinutes(-options.Value.IdleMinutes);
        List<(Guid Id, Guid TenantId)> idle;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
            idle = (await db.WebConversations.IgnoreQueryFilters().AsNoTracking().Where(c => c.EndedAt == null && c.LastMessageAt < cutoff)
                .OrderBy(c => c.LastMessageAt).Take(200).Select(c => new { c.Id, c.TenantId }).ToListAsync(ct)).Select(c => (c.Id, c.TenantId)).ToList();
        }
        foreach (var (id, tenantId) in idle)
        {
            await CloseAsync(tenantId, id, ct);
        }
        return idle.Count;
    }

    /// <summary>Closes one conversation now (idempotent).</summary>
    public async Task CloseAsync(Guid tenantId, Guid conversationId, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenantId);
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        var conversation = await db.WebConversations.FirstOrDefaultAsync(c => c.Id == conversationId, ct);
        if (conversation is null || conversation.EndedAt is not null)
        {
            return;
        }
        var call = await db.Calls.FirstAsync(c => c.Id == conversation.CallId, ct);
        if (call.Type == "webChat" && !await db.TranscriptTurns.AnyAsync(t => t.CallId == call.Id && t.Role == "user", ct))
        {
            // Opened, never written in: not a conversation. Counted as an answered call, a page's bare opens (or a script's)
            // filled the calls list and the analytics; the call goes, with its conversation (cascade) and greeting.
            db.Calls.Remove(call);
            using var deleting = await writes.EnterAsync(db, ct);
            await db.SaveChangesAsync(ct);
            return;
        }
        var now = clock.GetUtcNow();
        conversation.EndedAt = now;
        call.Status = "completed";
        call.EndedAt = conversation.LastMessageAt;
        call.EndedReason ??= "chat-idle";
        var turns = await db.TranscriptTurns.AsNoTracking().Where(t => t.CallId == call.Id && (t.Role == "user" || t.Role == "assistant"))
            .OrderBy(t => t.Seq).Select(t => new { t.Role, t.Text }).ToListAsync(ct);
        call.TranscriptText = string.Join('\n', turns.Select(t => $"{t.Role}: {t.Text}"));
        call.TranscriptFinal = true;
        call.UpdatedAt = now;
        if (!call.Analyzed)
        {
            var tenant = await db.Tenants.FirstAsync(t => t.Id == tenantId, ct);
            var assistant = call.AssistantId is { } aid ? await db.Assistants.FirstOrDefaultAsync(a => a.Id == aid, ct) : null;
            var callerText = string.Join('\n', turns.Where(t => t.Role == "user").Select(t => t.Text));
            await scope.ServiceProvider.GetRequiredService<PostCallPipeline>()
                .RunAsync(tenant, assistant, call, null, null, callerText, ct, extractLead: callerText.Length > 0);
        }
        using var turn = await writes.EnterAsync(db, ct);
        await db.SaveChangesAsync(ct);
    }
}

/// <summary>Runs <see cref="WebConversationCloser"/> once a minute (<see cref="WidgetOptions.CloserEnabled"/>).</summary>
internal sealed class WebConversationCloserWorker(WebConversationCloser closer, IOptions<WidgetOptions> options, ILogger<WebConversationCloserWorker> logger)
    : Platform.MinutePass(logger)
{
    protected override bool Enabled => options.Value.CloserEnabled;

    protected override string DoneMessage => "Closed {Count} idle web chats";

    protected override Task<int> RunAsync(CancellationToken ct) => closer.CloseIdleAsync(ct);
}
