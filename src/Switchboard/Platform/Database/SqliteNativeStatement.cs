using System.Buffers;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Storage;
using SQLitePCL;

namespace Switchboard.Platform.Database;

/// <summary>
/// Binds and runs a statement prepared by <see cref="SqliteStatementCache.NativeFor"/> directly through SQLitePCLRaw, writing
/// each value exactly as Microsoft.Data.Sqlite's parameter binder writes it (issue 13). The webhook's multi-row INSERTs and
/// record-only <c>INSERT … SELECT</c> went through <see cref="SqliteParameter"/>s: per value a parameter, a binder, a UTF-8
/// copy of every text (a Vapi message's whole raw body among them) and an upper-cased string per GUID, about a tenth of
/// what a message allocated under the ingest bench. Here a text is encoded into a stack or pooled buffer that SQLite copies
/// (<c>SQLITE_TRANSIENT</c>), a GUID formatted in place, a number bound as is.
/// <para>
/// Only the kinds of <see cref="KindOf"/> are bound here; a column of any other kind (a date stored as text, a decimal, a
/// blob, an enum without converter) makes its statement take the parameter path. A statement runs only inside a transaction the
/// connection holds (the group commit's <c>BEGIN IMMEDIATE</c> or an EF transaction), where a write cannot meet
/// <c>SQLITE_BUSY</c>; errors are the <see cref="SqliteException"/> Microsoft.Data.Sqlite would raise for the same result code.
/// </para>
/// </summary>
internal sealed class SqliteNativeStatement : IDisposable
{
    /// <summary>Longest text (in UTF-8 bytes) encoded on the stack; longer ones use a pooled array.</summary>
    private const int StackBytes = 512;

    /// <summary>How a column's provider values are bound (<see cref="KindOf"/>).</summary>
    internal enum Kind : byte
    {
        /// <summary>Not bound here: the statement takes Microsoft.Data.Sqlite's parameters.</summary>
        Unsupported,

        /// <summary><c>sqlite3_bind_text</c> of the string's UTF-8 (what <c>SqliteValueBinder</c> does for a string).</summary>
        Text,

        /// <summary><c>sqlite3_bind_int64</c> (long, int, short, byte; a bool as 1 or 0).</summary>
        Integer,

        /// <summary><c>sqlite3_bind_double</c> (double, float); NaN refused, as Microsoft.Data.Sqlite refuses it.</summary>
        Real,

        /// <summary>A GUID as upper-case text, <c>0F8FAD5B-D9CB-469F-A165-70867728950E</c> (EF Core's SQLite mapping, <c>SqliteType.Text</c>).</summary>
        GuidText,
    }

    /// <summary>
    /// The kind of <paramref name="mapping"/>'s provider values (after its value converter), decided from the parameter EF Core
    /// would make (its <see cref="SqliteParameter.SqliteType"/>, set by the mapping or inferred from a value of the provider
    /// type); <see cref="Kind.Unsupported"/> for anything else, and for a mapping with a size (which Microsoft.Data.Sqlite truncates to).
    /// </summary>
    internal static Kind KindOf(RelationalTypeMapping mapping)
    {
        if (mapping.Size is > 0)
        {
            return Kind.Unsupported;
        }
        var provider = mapping.Converter?.ProviderClrType ?? mapping.ClrType;
        provider = Nullable.GetUnderlyingType(provider) ?? provider;
        object? sample = provider == typeof(string) ? ""
            : provider == typeof(long) ? 0L : provider == typeof(int) ? 0 : provider == typeof(short) ? (short)0
            : provider == typeof(byte) ? (byte)0 : provider == typeof(bool) ? false
            : provider == typeof(double) ? 0d : provider == typeof(float) ? 0f
            : provider == typeof(Guid) ? Guid.Empty : null;
        if (sample is null)
        {
            return Kind.Unsupported;
        }
        using var command = new SqliteCommand();
        var parameter = (SqliteParameter)mapping.CreateParameter(command, "@p", null, nullable: true);
        parameter.Value = sample; // an explicit SqliteType stays; an unset one is inferred from the value, as when binding
        return (sample, parameter.SqliteType) switch
        {
            (string, SqliteType.Text) => Kind.Text,
            (long or int or short or byte or bool, SqliteType.Integer) => Kind.Integer,
            (double or float, SqliteType.Real) => Kind.Real,
            (Guid, SqliteType.Text) => Kind.GuidText,
            _ => Kind.Unsupported,
        };
    }

    private readonly sqlite3_stmt stmt;
    private readonly int[] indexes; // SQLite's 1-based index of parameter @pK at [K]; 0 where the text has no @pK

    /// <summary>
    /// Prepares <paramref name="text"/> on <paramref name="connection"/> (<c>sqlite3_prepare_v3</c> with
    /// <c>SQLITE_PREPARE_PERSISTENT</c>: it is kept) and reads where each of its <c>@p0</c>, <c>@p1</c>… parameters is; SQLite
    /// numbers parameters in the order they first appear, which in an <c>INSERT … SELECT</c> is not their names'. Errors are
    /// the <see cref="SqliteException"/> of the result code.
    /// </summary>
    public SqliteNativeStatement(SqliteConnection connection, string text)
    {
        var rc = raw.sqlite3_prepare_v3(connection.Handle, text, raw.SQLITE_PREPARE_PERSISTENT, out var prepared);
        if (rc != raw.SQLITE_OK || prepared is null)
        {
            prepared?.Dispose();
            SqliteException.ThrowExceptionForRC(rc, connection.Handle);
            throw new InvalidOperationException($"sqlite3_prepare_v3 returned {rc} and no statement.");
        }
        stmt = prepared;
        var count = raw.sqlite3_bind_parameter_count(stmt);
        var names = new int[count + 1];
        var highest = -1;
        for (var i = 1; i <= count; i++)
        {
            var name = raw.sqlite3_bind_parameter_name(stmt, i).utf8_to_string();
            names[i] = name is ['@', 'p', .. var digits] && int.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var k)
                ? k : throw new ArgumentException($"Parameter {name} is not named @pN.", nameof(text));
            highest = Math.Max(highest, names[i]);
        }
        indexes = new int[highest + 1];
        for (var i = 1; i <= count; i++)
        {
            indexes[names[i]] = i;
        }
    }

    /// <summary>
    /// Binds <paramref name="value"/> (a provider value: after the mapping's converter; null for SQL NULL) to parameter
    /// <c>@p{<paramref name="parameter"/>}</c> as <paramref name="kind"/>. <see cref="InvalidOperationException"/> for a value
    /// not of the kind (a model whose metadata and values disagree) or a NaN; <see cref="ArgumentOutOfRangeException"/> for a
    /// parameter the statement does not have; <see cref="SqliteException"/> when SQLite refuses the binding.
    /// </summary>
    public void Bind(SqliteConnection connection, int parameter, Kind kind, object? value)
    {
        var index = parameter < indexes.Length && indexes[parameter] > 0 ? indexes[parameter]
            : throw new ArgumentOutOfRangeException(nameof(parameter), parameter, "The statement has no such parameter.");
        var rc = (kind, value) switch
        {
            (_, null or DBNull) => raw.sqlite3_bind_null(stmt, index),
            (Kind.Text, string s) => BindText(stmt, index, s),
            (Kind.Integer, long l) => raw.sqlite3_bind_int64(stmt, index, l),
            (Kind.Integer, int i) => raw.sqlite3_bind_int64(stmt, index, i),
            (Kind.Integer, short h) => raw.sqlite3_bind_int64(stmt, index, h),
            (Kind.Integer, byte b) => raw.sqlite3_bind_int64(stmt, index, b),
            (Kind.Integer, bool b) => raw.sqlite3_bind_int64(stmt, index, b ? 1 : 0),
            (Kind.Real, double d) when !double.IsNaN(d) => raw.sqlite3_bind_double(stmt, index, d),
            (Kind.Real, float f) when !float.IsNaN(f) => raw.sqlite3_bind_double(stmt, index, f),
            (Kind.GuidText, Guid g) => BindGuidText(stmt, index, g),
            _ => throw new InvalidOperationException($"Cannot bind a {value.GetType().Name} as {kind} (parameter @p{parameter})."),
        };
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, connection.Handle);
        }
    }

    /// <summary>
    /// Runs the statement (one returning no rows) to completion, then resets it and clears its bindings (so SQLite lets go
    /// of their copies); returns the rows it changed (<c>sqlite3_changes</c>). A failed step is the <see cref="SqliteException"/>
    /// of its result code, the statement reset all the same.
    /// </summary>
    public int Execute(SqliteConnection connection)
    {
        var db = connection.Handle!;
        try
        {
            int rc;
            while ((rc = raw.sqlite3_step(stmt)) == raw.SQLITE_ROW)
            {
            }
            if (rc != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc, db);
            }
            return raw.sqlite3_changes(db);
        }
        finally
        {
            Clear();
        }
    }

    /// <summary>Resets the statement and clears what was bound (also for a statement abandoned before it ran).</summary>
    public void Clear()
    {
        raw.sqlite3_reset(stmt);
        raw.sqlite3_clear_bindings(stmt);
    }

    /// <summary>Finalizes the statement (<c>sqlite3_finalize</c>); only on the thread that holds its connection, or once that is closed.</summary>
    public void Dispose() => stmt.Dispose();

    private static int BindText(sqlite3_stmt stmt, int index, string s)
    {
        if (s.Length == 0)
        {
            return raw.sqlite3_bind_text(stmt, index, s); // zero-terminated: an empty span would be bound from a null pointer, as NULL
        }
        var max = Encoding.UTF8.GetMaxByteCount(s.Length);
        if (max <= StackBytes)
        {
            Span<byte> buffer = stackalloc byte[StackBytes];
            var n = Encoding.UTF8.GetBytes(s, buffer);
            return raw.sqlite3_bind_text(stmt, index, buffer[..n]);
        }
        var rented = ArrayPool<byte>.Shared.Rent(max);
        try
        {
            var n = Encoding.UTF8.GetBytes(s, rented);
            return raw.sqlite3_bind_text(stmt, index, rented.AsSpan(0, n));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static int BindGuidText(sqlite3_stmt stmt, int index, Guid g)
    {
        Span<byte> text = stackalloc byte[36];
        g.TryFormat(text, out var n, "D");
        for (var i = 0; i < n; i++)
        {
            if (text[i] is >= (byte)'a' and <= (byte)'f')
            {
                text[i] -= 'a' - 'A';
            }
        }
        return raw.sqlite3_bind_text(stmt, index, text[..n]);
    }
}
