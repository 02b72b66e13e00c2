using System.Collections.Frozen;

namespace Switchboard.Platform;

/// <summary>
/// The one rule for a time zone a business picks (sign-up, the onboarding profile): an IANA time zone id, stored in its
/// canonical spelling. <see cref="TimeZoneInfo.FindSystemTimeZoneById"/> alone is not that rule: on Linux it opens any file
/// under the zoneinfo directory, so <c>right/America/Montreal</c> (the copy counting leap seconds, whose clock is 27 s off
/// civil time), <c>posix/America/Montreal</c> (a duplicate tree) or a <c>SystemV/</c> name that ICU still knows passed.
/// <para>
/// The tz database (tz-link.html, "Names of timezones"; <c>tzfile(5)</c>) names each zone once (a <c>Zone</c> line) and keeps
/// older or other names as links (<c>Link</c>: <c>US/Eastern</c> → <c>America/New_York</c>, <c>America/Montreal</c> →
/// <c>America/Toronto</c>). Here a zone name, or a link a country is listed under in <c>zone.tab</c>
/// (<c>Europe/Oslo</c>, which some builds pack as a link), is kept as it is; any other link is stored as the zone it names;
/// every name of UTC (<c>Etc/UTC</c>, <c>Etc/Universal</c>, <c>Zulu</c>…) is stored as <c>UTC</c>, the product's default.
/// Names compare without regard to case and come back in the database's spelling. The table is read once from the
/// compiled source the tz database installs beside the zones (<c>tzdata.zi</c>, the directory being <c>$TZDIR</c> or
/// <c>/usr/share/zoneinfo</c>, where .NET reads zones on Linux and macOS). Where there is no such file (Windows, where .NET
/// maps IANA ids through ICU; a container without tzdata), a name the runtime resolves to a zone with an IANA id is kept
/// as given, the <c>right/</c>, <c>posix/</c> and <c>SystemV/</c> trees still refused.
/// </para>
/// </summary>
internal static class IanaTimeZones
{
    /// <summary>The spelling every name of UTC is stored as.</summary>
    public const string Utc = "UTC";

    private static readonly string[] RefusedTrees = ["right/", "posix/", "SystemV/"];

    private static readonly Lazy<Table?> Installed = new(() => Table.Read(Environment.GetEnvironmentVariable("TZDIR") is { Length: > 0 } dir ? dir : "/usr/share/zoneinfo"));

    /// <summary>
    /// The canonical id of the time zone <paramref name="value"/> names (<c>US/Eastern</c> → <c>America/New_York</c>,
    /// <c>america/toronto</c> → <c>America/Toronto</c>, <c>Etc/UTC</c> → <c>UTC</c>), or null when it is not an IANA time
    /// zone id a business can pick: unknown, longer than 64 characters, a Windows id (<c>Eastern Standard Time</c>), a
    /// name without an area other than <c>UTC</c> (<c>EST5EDT</c>, <c>EST</c>, <c>Japan</c>: legacy links whose meaning is
    /// not what a reader takes it for, <c>EST</c> being Panama's year-round time), or under <c>right/</c>, <c>posix/</c> or
    /// <c>SystemV/</c>.
    /// </summary>
    public static string? Canonicalize(string? value) => Canonicalize(value, Installed.Value);

    /// <summary><see cref="Canonicalize(string?)"/> with the tz table read from <paramref name="table"/> (null: none installed).</summary>
    internal static string? Canonicalize(string? value, Table? table)
    {
        if (value is not { Length: > 0 and <= 64 } || !(value.Contains('/') || string.Equals(value, Utc, StringComparison.OrdinalIgnoreCase))
            || RefusedTrees.Any(t => value.StartsWith(t, StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }
        string canonical;
        if (table is null)
        {
            canonical = value;
        }
        else if (table.Resolve(value) is { } resolved)
        {
            canonical = resolved;
        }
        else
        {
            return null;
        }
        if (canonical is "Etc/UTC" or "Etc/UCT" or "Etc/Universal" or "Etc/Zulu" or "UCT" or "Universal" or "Zulu" or Utc)
        {
            return Utc;
        }
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(canonical, out var zone) || !zone.HasIanaId)
        {
            return null;
        }
        return canonical;
    }

    /// <summary>The zones and links of an installed tz database, keyed without regard to case.</summary>
    internal sealed class Table(FrozenDictionary<string, string> canonical)
    {
        /// <summary>The stored spelling of <paramref name="name"/>, or null when the database has no such name.</summary>
        public string? Resolve(string name) => canonical.GetValueOrDefault(name);

        /// <summary>
        /// Reads <c>tzdata.zi</c> (<c>Z name …</c> zone lines, <c>L target name</c> link lines; zic(8), "link" and "zone"
        /// lines) and <c>zone.tab</c> (tab-separated, the zone in the third column) from <paramref name="directory"/>;
        /// null when there is no <c>tzdata.zi</c> or it cannot be read.
        /// </summary>
        public static Table? Read(string directory)
        {
            try
            {
                var zi = Path.Combine(directory, "tzdata.zi");
                if (!File.Exists(zi))
                {
                    return null;
                }
                var tab = Path.Combine(directory, "zone.tab");
                var listed = File.Exists(tab)
                    ? File.ReadLines(tab).Where(l => l.Length > 0 && l[0] != '#').Select(l => l.Split('\t')).Where(f => f.Length >= 3).Select(f => f[2]).ToHashSet(StringComparer.Ordinal)
                    : [];
                return Parse(File.ReadLines(zi), listed);
            }
            catch (IOException)
            {
                return null;
            }
            catch (UnauthorizedAccessException)
            {
                return null;
            }
        }

        /// <summary>Builds the table from the lines of <c>tzdata.zi</c> and the zone names <c>zone.tab</c> lists.</summary>
        internal static Table Parse(IEnumerable<string> lines, IReadOnlySet<string> listed)
        {
            var zones = new HashSet<string>(StringComparer.Ordinal);
            var links = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var line in lines)
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields is ["Z", var zone, ..])
                {
                    zones.Add(zone);
                }
                else if (fields is ["L", var target, var name, ..])
                {
                    links[name] = target;
                }
            }
            var canonical = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var zone in zones)
            {
                canonical[zone] = zone;
            }
            foreach (var (name, target) in links)
            {
                if (listed.Contains(name))
                {
                    canonical[name] = name;
                    continue;
                }
                // A link names a zone; an older database may chain links, so follow a few.
                var to = target;
                for (var hops = 0; hops < 8 && !zones.Contains(to) && links.TryGetValue(to, out var next); hops++)
                {
                    to = next;
                }
                if (zones.Contains(to))
                {
                    canonical.TryAdd(name, to);
                }
            }
            return new Table(canonical.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase));
        }
    }
}
