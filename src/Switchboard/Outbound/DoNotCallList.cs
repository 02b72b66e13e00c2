using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Switchboard.Compliance;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;

namespace Switchboard.Outbound;

/// <summary>
/// A tenant's internal do-not-call list: look-ups before every outbound call, additions from the API, a CSV import,
/// the callee's own request (<see cref="DoNotCallPhrases"/>) and an SMS opt-out keyword (<see cref="Twilio.SmsOptOutKeywords"/>), each with its date and source and an audit entry
/// (<c>dnc.added</c>, <c>dnc.removed</c>). Rows are added to the caller's unit of work; the caller saves.
/// </summary>
internal sealed class DoNotCallList(SwitchboardDbContext db, TimeProvider clock)
{
    /// <summary>True when <paramref name="e164"/> is on the current tenant's list.</summary>
    public Task<bool> ContainsAsync(string e164, CancellationToken ct) => db.DoNotCall.AnyAsync(d => d.Number == e164, ct);

    /// <summary>
    /// Adds <paramref name="e164"/> unless already listed; returns the entry (existing or new) and whether it is new or changed.
    /// An SMS opt-out (<see cref="DoNotCallSources.SmsOptOut"/>) is never hidden by an entry already there for another reason, nor
    /// another reason by an SMS opt-out: the entry's source then says both (<see cref="DoNotCallSources.WithSmsOptOut"/>), so the
    /// number is not texted, and an opt-in (START) later lifts only the SMS opt-out (<see cref="RemoveSmsOptOutAsync"/>). Its note
    /// and date stay those of the first reason.
    /// </summary>
    public async Task<(DoNotCallEntry Entry, bool Added)> AddAsync(Guid tenantId, string e164, string source, string? note, Guid? callId, CancellationToken ct)
    {
        var existing = db.DoNotCall.Local.FirstOrDefault(d => d.TenantId == tenantId && d.Number == e164)
            ?? await db.DoNotCall.FirstOrDefaultAsync(d => d.Number == e164, ct);
        if (existing is not null)
        {
            var both = DoNotCallSources.WithSmsOptOut(existing.Source, source);
            if (both == existing.Source)
            {
                return (existing, false);
            }
            existing.Source = both;
            return (existing, true);
        }
        var entry = NewEntry(tenantId, e164, source, note, callId, clock.GetUtcNow());
        db.DoNotCall.Add(entry);
        return (entry, true);
    }

    /// <summary>
    /// Lifts the SMS opt-out of <paramref name="e164"/> (an opt-in keyword, START): an entry listed only by an SMS opt-out goes,
    /// one listed for another reason as well keeps that reason (<see cref="DoNotCallSources.WithoutSmsOptOut"/>); an entry without
    /// an SMS opt-out (the API, a CSV, the callee's own words) is left as it is. Returns whether anything changed.
    /// </summary>
    public async Task<bool> RemoveSmsOptOutAsync(string e164, CancellationToken ct)
    {
        var entry = await db.DoNotCall.Where(d => d.Number == e164).Where(DoNotCallSources.HasSmsOptOut).FirstOrDefaultAsync(ct);
        if (entry is null)
        {
            return false;
        }
        if (DoNotCallSources.WithoutSmsOptOut(entry.Source) is { } other)
        {
            entry.Source = other;
        }
        else
        {
            db.DoNotCall.Remove(entry);
        }
        return true;
    }

    /// <summary>A new row of the list (id <paramref name="id"/>, else a new v7 id); the note is cut to 500 characters.</summary>
    private static DoNotCallEntry NewEntry(Guid tenantId, string e164, string source, string? note, Guid? callId, DateTimeOffset now, Guid? id = null) => new()
    {
        Id = id ?? Guid.CreateVersion7(),
        TenantId = tenantId,
        Number = e164,
        Source = source,
        Note = TolerantJson.Cap(note, 500),
        CallId = callId,
        AddedAt = now,
    };

    /// <summary>
    /// Adds each of <paramref name="numbers"/> (E.164, duplicates allowed) that is not listed yet, all from one
    /// <paramref name="source"/>: the CSV import. The numbers already listed are read in chunks of 1,000 (one query each, not one per
    /// number), and the new rows are added to the caller's unit of work without a per-row look-up of the change tracker (which
    /// made a 20,000-row import quadratic: 47 s). A number listed only by an SMS opt-out gets <paramref name="source"/> as well
    /// (<see cref="DoNotCallSources.WithSmsOptOut"/>), so a later START does not take the import's listing off; it counts as
    /// listed already. Returns how many were added and how many were listed already.
    /// </summary>
    public async Task<(int Added, int AlreadyListed)> AddManyAsync(Guid tenantId, IReadOnlyCollection<string> numbers, string source, string? note, CancellationToken ct)
    {
        var wanted = numbers.Distinct(StringComparer.Ordinal).ToList();
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in wanted.Chunk(1000))
        {
            var chunkList = chunk.ToList();
            listed.UnionWith(await db.DoNotCall.AsNoTracking().Where(d => chunkList.Contains(d.Number)).Select(d => d.Number).ToListAsync(ct));
            if (source != DoNotCallSources.SmsOptOut)
            {
                foreach (var optedOut in await db.DoNotCall.Where(d => chunkList.Contains(d.Number) && d.Source == DoNotCallSources.SmsOptOut).ToListAsync(ct))
                {
                    optedOut.Source = DoNotCallSources.WithSmsOptOut(optedOut.Source, source);
                }
            }
        }
        var now = clock.GetUtcNow();
        // In one order, whoever imports (InsertOrder): two imports of the same numbers at once cannot deadlock on the unique index.
        var added = InsertOrder.ByKey(wanted.Where(n => !listed.Contains(n)), n => n, now)
            .Select(x => NewEntry(tenantId, x.Row, source, note, null, now, x.Id)).ToList();
        db.DoNotCall.AddRange(added);
        return (added.Count, numbers.Count - added.Count);
    }
}

/// <summary>
/// Recognises a callee asking not to be called again, in French and English ("ne m'appelez plus", "arrêtez de
/// m'appeler", "retirez-moi de votre liste", "don't call me again", "stop calling me", "take me off your list", "put me
/// on your do not call list"). Accents and case are ignored; a phrase must be said by the caller (user turns only).
/// </summary>
internal static partial class DoNotCallPhrases
{
    [GeneratedRegex(
        @"\b(ne\s+(m|me)\s*'?\s*appel(ez|le|er)\s+plus|(n|ne)\s*'?\s*appel(ez|le)\s+plus|arret(ez|e)\s+de\s+(m|me)\s*'?\s*appeler|(retirez|enlevez|otez)[\s-]*(moi|mon\s+numero)\s+de\s+(votre|la|vos)\s+liste"
        + @"|do\s*n[o']?t\s+call\s+(me|this\s+number)\s+(again|anymore|any\s+more)|never\s+call\s+(me|this\s+number)\s+again|stop\s+calling\s+(me|this\s+number)"
        + @"|(take|remove)\s+(me|my\s+number)\s+(off|from)\s+(your|the)\s+(call(ing)?\s+)?list|(put|add)\s+me\s+(on|to)\s+(your|the)\s+do[\s-]*not[\s-]*call\s+list)\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    /// <summary>The words that matched in <paramref name="callerText"/>, or null when the caller made no such request.</summary>
    public static string? Find(string? callerText)
    {
        if (string.IsNullOrWhiteSpace(callerText))
        {
            return null;
        }
        var match = Pattern().Match(Fold(callerText.Replace('’', '\'')));
        return match.Success ? match.Value : null;
    }

    private static string Fold(string text)
    {
        var decomposed = text.Normalize(NormalizationForm.FormD);
        var sb = new StringBuilder(decomposed.Length);
        foreach (var c in decomposed)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark)
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }
}
