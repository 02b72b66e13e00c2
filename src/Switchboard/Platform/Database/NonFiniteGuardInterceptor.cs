using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Diagnostics;

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
            foreach (var property in entry.Properties)
            {
                switch (property.CurrentValue)
                {
                    case double d when !double.IsFinite(d):
                        Unset(property, 0d);
                        break;
                    case float f when !float.IsFinite(f):
                        Unset(property, 0f);
                        break;
                    case decimal m when property.Metadata.GetPrecision() is { } precision:
                        var limit = Pow10(precision - (property.Metadata.GetScale() ?? 0));
                        if (limit is { } l && Math.Abs(m) >= l)
                        {
                            Unset(property, 0m);
                        }
                        break;
                }
            }
        }
    }

    private static void Unset(PropertyEntry property, object zero) =>
        property.CurrentValue = property.Metadata.IsNullable ? null : zero;

    private static decimal? Pow10(int digits) => digits is < 0 or > 28 ? null : (decimal)Math.Pow(10, digits);
}
