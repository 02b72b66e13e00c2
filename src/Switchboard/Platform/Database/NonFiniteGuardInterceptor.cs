using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Metadata;

namespace Switchboard.Platform.Database;

/// <summary>
/// Last line of the number rule: no NaN or ±∞ is ever written (SQLite refuses NaN, and JSON cannot carry either), and no
/// decimal that overflows its column's precision (PostgreSQL <c>numeric(12,4)</c> refuses ≥ 10^8). Before each save,
/// such a value in an added or modified row becomes null (or 0 for a non-nullable column). Provider input is already
/// checked at the edge (<c>VapiFieldRules</c>, the Twilio webhook); this guards every other writer.
/// </summary>
internal sealed class NonFiniteGuardInterceptor : SaveChangesInterceptor
{
    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        Guard(eventData.Context);
        return result;
    }

    public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Guard(eventData.Context);
        return ValueTask.FromResult(result);
    }

    private static void Guard(DbContext? context)
    {
        if (context is null)
        {
            return;
        }
        foreach (var entry in context.ChangeTracker.Entries())
        {
            if (entry.State is not (EntityState.Added or EntityState.Modified))
            {
                continue;
            }
            foreach (var metadata in Guarded.GetOrAdd(entry.Metadata, GuardedOf))
            {
                var property = entry.Property(metadata);
                if (TryReplace(metadata, property.CurrentValue, out var replacement))
                {
                    property.CurrentValue = replacement;
                }
            }
        }
    }

    /// <summary>
    /// The properties of an entity type the rule can apply to (double, float and decimal, nullable or not), found once per type:
    /// reading every property of every saved row, boxed, was about 1 % of a Vapi message's allocations (issue 13).
    /// </summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<IEntityType, IProperty[]> Guarded = new();

    private static IProperty[] GuardedOf(IEntityType type) =>
        [.. type.GetProperties().Where(p => (Nullable.GetUnderlyingType(p.ClrType) ?? p.ClrType) is var t
            && (t == typeof(double) || t == typeof(float) || t == typeof(decimal)))];

    /// <summary>
    /// The rule, for a value about to be written to <paramref name="property"/>'s column: a NaN or ±∞ <see cref="double"/> or
    /// <see cref="float"/>, or a <see cref="decimal"/> past the column's precision, is replaced by null (0 when the column
    /// is not nullable). False when <paramref name="value"/> is stored as it is. Also used by rows inserted outside the
    /// change tracker (<see cref="SwitchboardDbContext.InsertOnSave(object)"/>).
    /// </summary>
    internal static bool TryReplace(IReadOnlyProperty property, object? value, out object? replacement)
    {
        object? zero = value switch
        {
            double d when !double.IsFinite(d) => 0d,
            float f when !float.IsFinite(f) => 0f,
            decimal m when property.GetPrecision() is { } precision && Pow10(precision - (property.GetScale() ?? 0)) is { } limit && Math.Abs(m) >= limit => 0m,
            _ => null,
        };
        replacement = property.IsNullable ? null : zero;
        return zero is not null;
    }

    private static decimal? Pow10(int digits) => digits is < 0 or > 28 ? null : (decimal)Math.Pow(10, digits);
}
