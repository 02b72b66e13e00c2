using System.Data.Common;

namespace Switchboard.Platform.Database;

/// <summary>
/// Parameters for hand-written SQL over EF-mapped tables, in the form EF stores each value: Guids as <c>uuid</c> on
/// PostgreSQL and upper-case text on SQLite; times as <c>timestamptz</c> (UTC) on PostgreSQL and UTC ticks on SQLite.
/// </summary>
internal static class StoredValues
{
    /// <summary>Adds <paramref name="value"/> as the next positional parameter (<c>@p0</c>, <c>@p1</c>…) and returns its name.</summary>
    public static string Param(DbCommand cmd, object value)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = "@p" + cmd.Parameters.Count;
        p.Value = value;
        cmd.Parameters.Add(p);
        return p.ParameterName;
    }

    /// <summary>A Guid as EF stores it on the given provider.</summary>
    public static object Id(bool postgres, Guid id) => postgres ? id : id.ToString().ToUpperInvariant();

    /// <summary>A time as EF stores it on the given provider.</summary>
    public static object Time(bool postgres, DateTimeOffset t) => postgres ? t.ToUniversalTime() : t.UtcTicks;
}
