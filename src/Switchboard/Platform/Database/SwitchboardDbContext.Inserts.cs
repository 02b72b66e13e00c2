using System.Collections.Concurrent;
using System.Data.Common;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Switchboard.Calls;
using Switchboard.Dashboard;

namespace Switchboard.Platform.Database;

/// <summary>
/// Rows a unit of work only inserts (a Vapi message's raw event, a conversation snapshot's or end-of-call report's
/// transcript) written as multi-row INSERTs rather than as tracked entities with one INSERT each (issue 13: EF's change
/// tracking and update pipeline were about a quarter of the server's CPU under the ingest bench, and the report's 15 turns
/// were 15 of its 35 statements).
/// </summary>
internal sealed partial class SwitchboardDbContext
{
    /// <summary>Most rows per multi-row INSERT (also bounds the statement texts kept by <see cref="SqliteStatementCache"/>).</summary>
    internal const int RowsPerInsert = 32;

    /// <summary>Most parameters per multi-row INSERT (SQLite allows 32 766, PostgreSQL 65 535).</summary>
    private const int ParametersPerInsert = 900;

    private List<object>? pendingInserts;

    /// <summary>
    /// Inserts <paramref name="entity"/> with the next <c>SaveChangesAsync</c>, after its tracked changes (so after the insert
    /// of a call added in the same unit of work) and in the same transaction, each type's rows together (types in the order
    /// of their first row queued, rows in the order queued: a row queued after one it references is written after it), up to
    /// <see cref="RowsPerInsert"/> rows of one type per statement. The entity is not tracked: nothing reads it back in the unit, no interceptor sees it (a
    /// <see cref="TranscriptTurn"/> not skipped with <see cref="LiveEventBatch.Skip"/> is still announced as
    /// <c>transcript.turn</c>, and a non-finite <see cref="double"/> is still written as null). On PostgreSQL, and outside a
    /// transaction and a <see cref="SqliteGroupCommit"/> unit, the entities are tracked and saved as usual instead: in EF's
    /// batched round trip, and as one atomic save.
    /// </summary>
    internal void InsertOnSave(object entity) => (pendingInserts ??= []).Add(entity);

    /// <summary>Queues <paramref name="turns"/> as <see cref="InsertOnSave(object)"/> does.</summary>
    internal void InsertOnSave(IEnumerable<TranscriptTurn> turns) => (pendingInserts ??= []).AddRange(turns);

    /// <summary>Forgets the turns of <paramref name="callId"/> queued by <see cref="InsertOnSave(IEnumerable{TranscriptTurn})"/> and not yet saved.</summary>
    internal void DropTurnsOnSave(Guid callId) => pendingInserts?.RemoveAll(e => e is TranscriptTurn t && t.CallId == callId);

    /// <summary>Forgets every row queued by <see cref="InsertOnSave(object)"/> and not yet saved (a step rolled back, the rest of the unit kept).</summary>
    internal void DropInsertsOnSave() => pendingInserts = null;

    /// <summary>Takes the queued inserts for this save; null when none, or when they were handed to the change tracker.</summary>
    private List<object>? TakeInsertsOnSave()
    {
        var inserts = pendingInserts;
        pendingInserts = null;
        if (inserts is not { Count: > 0 })
        {
            return null;
        }
        // PostgreSQL: EF sends a save's statements in one batched round trip, and the rows go with them; a statement of
        // their own would be one more round trip per message (VapiStatementTests: 3 → 4 commands for an assistant-request, 8 → 10 for an
        // end-of-call report).
        // SQLite runs one statement at a time either way, so there the multi-row INSERT saves statements and EF's pipeline.
        if (Database.CurrentTransaction is null && !InGroupCommit || !IsSqlite)
        {
            AddRange(inserts);
            return null;
        }
        // Each type's rows together (in the order of each type's first row, and queued order within a type), so a unit's
        // webhook events, deliveries and outbox rows are three statements rather than one per row; rows that reference
        // rows of another type queued here (a delivery its event) still follow them.
        for (var i = 1; i < inserts.Count; i++)
        {
            if (inserts[i].GetType() != inserts[i - 1].GetType() && inserts.FindIndex(0, i - 1, e => e.GetType() == inserts[i].GetType()) >= 0)
            {
                return inserts.GroupBy(e => e.GetType()).SelectMany(g => g).ToList();
            }
        }
        return inserts;
    }

    /// <summary>
    /// Runs the multi-row INSERTs of <paramref name="entities"/>; returns the rows written. A failure (a unique key taken by a
    /// concurrent unit of work) is a <see cref="DbUpdateException"/>, as EF's own save reports it, so callers replay the unit.
    /// </summary>
    private async Task<int> InsertAsync(List<object> entities, CancellationToken ct)
    {
        var written = 0;
        try
        {
            for (var start = 0; start < entities.Count;)
            {
                var type = entities[start].GetType();
                var shape = ShapeOf(type);
                var columns = shape.Columns;
                var max = Math.Min(RowsPerInsert, ParametersPerInsert / columns.Length);
                var rows = 1;
                while (rows < max && start + rows < entities.Count && entities[start + rows].GetType() == type)
                {
                    rows++;
                }
                await using var command = CommandFor(InsertSql(shape, rows), IsSqlite && shape.AllNative);
                var i = 0;
                for (var r = start; r < start + rows; r++)
                {
                    for (var c = 0; c < columns.Length; c++)
                    {
                        command.Add(shape, c, shape.ValueOf(c, entities[r]), i);
                        i++;
                    }
                }
                written += await command.ExecuteNonQueryAsync(ct);
                start += rows;
            }
        }
        catch (DbException e)
        {
            throw new DbUpdateException("A multi-row insert failed.", e);
        }
        foreach (var entity in entities)
        {
            if (entity is TranscriptTurn turn && !LiveEvents.IsSkipped(turn.Id))
            {
                LiveEvents.Add(LiveEventData.Draft(turn.TenantId, LiveEventTypes.TranscriptTurn, LiveEventData.Turn(turn), turn.CallId));
            }
        }
        return written;
    }

    /// <summary>
    /// Stores <paramref name="row"/> (a provider message's raw event) in one statement, outside the change tracker and any unit
    /// of work, as an event of the call stored under (<c>row.TenantId</c>, <c>row.Provider</c>, <paramref name="providerCallId"/>),
    /// and only while that call is as the caller requires: each of <paramref name="setCallProperties"/> (<see cref="Call"/>
    /// property names) is non-null on it, and its <see cref="Call.UpdatedAt"/> is later than <paramref name="updatedAfter"/>.
    /// <c>row.CallId</c> is not used: the call's own id is written. An event already stored with the same
    /// (<c>TenantId</c>, <c>IdempotencyKey</c>) is left alone (<c>ON CONFLICT … DO NOTHING</c>, SQLite ≥ 3.24 and PostgreSQL).
    /// <code>
    /// INSERT INTO call_events (Id, TenantId, CallId, …) SELECT @p0, @p1, c.Id, … FROM calls AS c
    /// WHERE c.TenantId = @t AND c.Provider = @p AND c.ProviderCallId = @id AND c.UpdatedAt &gt; @after [AND c.X IS NOT NULL …]
    /// ON CONFLICT (TenantId, IdempotencyKey) DO NOTHING
    /// </code>
    /// Values go through the same column mappings and number rule as <see cref="InsertOnSave(object)"/>'s rows. Runs on the
    /// context's connection: on SQLite within a <see cref="SqliteGroupCommit"/> unit (it writes), on PostgreSQL as one autocommit
    /// round trip. True when the row was inserted; false when not (no such call, a condition unmet, or a duplicate). Errors are
    /// the provider's <see cref="DbException"/>.
    /// </summary>
    internal async Task<bool> InsertEventOfCallAsync(CallEvent row, string providerCallId, IReadOnlyList<string> setCallProperties,
        DateTimeOffset updatedAfter, CancellationToken ct)
    {
        var events = EventOfCallShapeOf();
        var shape = events.Events;
        var columns = shape.Columns;
        await using var command = CommandFor(events.Sql(this, setCallProperties), IsSqlite && events.AllNative);
        // @p0… the row's columns by position (none for CallId, taken from the call), then the call's tenant, provider, id and time.
        for (var c = 0; c < columns.Length; c++)
        {
            if (c != events.CallIdColumn)
            {
                command.Add(shape, c, shape.ValueOf(c, row), c);
            }
        }
        command.Add(events.Calls, events.CallTenantId, row.TenantId, columns.Length);
        command.Add(events.Calls, events.CallProvider, row.Provider, columns.Length + 1);
        command.Add(events.Calls, events.CallProviderCallId, providerCallId, columns.Length + 2);
        command.Add(events.Calls, events.CallUpdatedAt, updatedAfter, columns.Length + 3);
        // Nothing to announce: the live feed carries no raw events (LiveEventsInterceptor), and this row is never tracked.
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    /// <summary>
    /// Observes the statements <see cref="InsertCommand"/> runs on SQLite's cached statements, which bypass EF's command
    /// pipeline and so its interceptors (tests count a unit's SQL with it; null in production).
    /// </summary>
    internal static Action<string>? DirectStatementObserver { get; set; }

    /// <summary>Statements <see cref="InsertCommand"/> ran on SQLite's cached statements since start (tests and diagnostics).</summary>
    internal static long DirectStatements => Interlocked.Read(ref directStatements);

    private static long directStatements;

    /// <summary>Of <see cref="DirectStatements"/>, those bound and run as <see cref="SqliteNativeStatement"/>s (tests and diagnostics).</summary>
    internal static long NativeStatements => Interlocked.Read(ref nativeStatements);

    private static long nativeStatements;

    /// <summary>
    /// A command for <paramref name="sql"/>: on SQLite, the connection's native statement when every value is of a kind
    /// <see cref="SqliteNativeStatement"/> binds (<paramref name="native"/>) and the connection holds a transaction, else its
    /// cached statement when it has one; else EF's raw SQL path.
    /// </summary>
    private InsertCommand CommandFor(string sql, bool native)
    {
        if (IsSqlite && Database.GetDbConnection() is SqliteConnection { State: System.Data.ConnectionState.Open } connection)
        {
            // Outside a transaction a write could meet SQLITE_BUSY, which only Microsoft.Data.Sqlite's command retries.
            if (native && SQLitePCL.raw.sqlite3_get_autocommit(connection.Handle) == 0 && SqliteStatementCache.NativeFor(connection, sql) is { } statement)
            {
                return new InsertCommand(this, sql, connection, statement);
            }
            if (SqliteStatementCache.CommandFor(connection, sql) is { } cached)
            {
                return new InsertCommand(this, sql, cached);
            }
        }
        return new InsertCommand(this, sql, null);
    }

    /// <summary>
    /// One multi-row INSERT's statement and parameters (issue 13), run one of three ways:
    /// <list type="bullet">
    /// <item>On SQLite, inside a transaction, on an unpooled connection with a statement cache (the group commit's and the
    /// session pool's), when every value is of a kind it binds: the connection's <see cref="SqliteNativeStatement"/>, each
    /// value bound as it comes, with no parameter object (the values Microsoft.Data.Sqlite would bind, without its
    /// per-value parameter, binder and UTF-8 copies).</item>
    /// <item>Else on SQLite with a statement cache: the parameters bound to the connection's cached <see cref="SqliteCommand"/>
    /// and run there (EF's raw SQL path would copy the statement's text into a command builder, wrap every parameter and
    /// raise its diagnostics events before reaching the same cached statement through <see cref="SqliteStatementCache"/>).</item>
    /// <item>Otherwise (PostgreSQL, a connection without a cache, a statement whose reader is still open) through
    /// <c>ExecuteSqlRawAsync</c>.</item>
    /// </list>
    /// A cached command or native statement lets go of its values once run.
    /// </summary>
    private sealed class InsertCommand : IAsyncDisposable
    {
        private readonly SwitchboardDbContext db;
        private readonly string sql;
        private readonly SqliteConnection? connection;
        private readonly SqliteNativeStatement? native;
        private readonly SqliteCommand? cached;
        private readonly DbCommand? factory;
        private readonly List<DbParameter>? parameters;
        private bool ran;

        public InsertCommand(SwitchboardDbContext db, string sql, SqliteConnection connection, SqliteNativeStatement native)
        {
            this.db = db;
            this.sql = sql;
            this.connection = connection;
            this.native = native;
        }

        public InsertCommand(SwitchboardDbContext db, string sql, SqliteCommand? cached)
        {
            this.db = db;
            this.sql = sql;
            this.cached = cached;
            if (cached is null)
            {
                factory = db.Database.GetDbConnection().CreateCommand(); // makes the provider's parameters; never run
                parameters = [];
            }
        }

        /// <summary>Adds <paramref name="value"/> as parameter <c>@p{index}</c>, as column <paramref name="column"/> of <paramref name="shape"/> stores it.</summary>
        public void Add(InsertShape shape, int column, object? value, int index)
        {
            if (native is not null)
            {
                native.Bind(connection!, index, shape.NativeKind(column), shape.ProviderValue(column, value));
                return;
            }
            var parameter = shape.Parameter(cached ?? factory!, column, value, index);
            if (cached is not null)
            {
                cached.Parameters.Add((SqliteParameter)parameter);
            }
            else
            {
                parameters!.Add(parameter);
            }
        }

        /// <summary>Runs the statement in the context's transaction; returns the rows written.</summary>
        public async Task<int> ExecuteNonQueryAsync(CancellationToken ct)
        {
            if (native is not null)
            {
                DirectStatementObserver?.Invoke(sql);
                Interlocked.Increment(ref directStatements);
                Interlocked.Increment(ref nativeStatements);
                ran = true;
                return native.Execute(connection!);
            }
            if (cached is null)
            {
                return await db.Database.ExecuteSqlRawAsync(sql, parameters!, ct);
            }
            // The group commit's units run in its BEGIN IMMEDIATE with no ADO.NET transaction; an EF transaction is the connection's.
            cached.Transaction = db.Database.CurrentTransaction?.GetDbTransaction() as SqliteTransaction;
            if (db.Database.GetCommandTimeout() is { } timeout)
            {
                cached.CommandTimeout = timeout;
            }
            DirectStatementObserver?.Invoke(sql);
            Interlocked.Increment(ref directStatements);
            try
            {
                return await cached.ExecuteNonQueryAsync(ct);
            }
            finally
            {
                cached.Parameters.Clear(); // the values (a raw body) are not kept alive by the cache
                cached.Transaction = null;
            }
        }

        public ValueTask DisposeAsync()
        {
            if (native is not null && !ran)
            {
                native.Clear(); // bound but never run (a value refused): the next use starts clean
            }
            return factory?.DisposeAsync() ?? ValueTask.CompletedTask;
        }
    }

    /// <summary>
    /// What an insert of one entity type needs from the model, looked up once per model (so per provider) and type rather
    /// than per row (issue 13: the metadata walks, parameter names and SQL texts were rebuilt for every message): the table,
    /// the mapped properties in model order (the column order of every insert here), their getters, type mappings and
    /// whether the number rule can apply, the parameter names and the multi-row INSERT text per row count. Immutable once
    /// built but for <see cref="SqlByRows"/>, whose slots are filled on first use (racing writers store equal strings).
    /// </summary>
    private sealed class InsertShape
    {
        /// <summary>
        /// Parameter names <c>@p0</c>, <c>@p1</c>…, shared by every shape (an INSERT has at most <see cref="ParametersPerInsert"/>
        /// + a few). With the prefix the statement uses: Microsoft.Data.Sqlite binds a name by looking it up as given and, when
        /// that fails, again with each of <c>:</c>, <c>@</c> and <c>$</c> in front, converting every candidate to UTF-8 (a
        /// fifth of the parameter binding's time and 4 % of all allocations under the ingest bench); Npgsql takes either form.
        /// </summary>
        private static readonly string[] Names = Enumerable.Range(0, ParametersPerInsert + 64).Select(i => "@p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

        public InsertShape(IEntityType entityType)
        {
            Table = StoreObjectIdentifier.Table(entityType.GetTableName()!, entityType.GetSchema());
            var table = Table;
            Columns = entityType.GetProperties().Where(p => p.GetColumnName(table) is not null).ToArray();
            Getters = Columns.Select(c => c.GetGetter()).ToArray();
            Mappings = Columns.Select(c => c.GetRelationalTypeMapping()).ToArray();
            Guarded = Columns.Select(c => Nullable.GetUnderlyingType(c.ClrType) ?? c.ClrType)
                .Select(t => t == typeof(double) || t == typeof(float) || t == typeof(decimal)).ToArray();
            nativeKinds = new byte[Columns.Length];
        }

        public StoreObjectIdentifier Table { get; }

        public IProperty[] Columns { get; }

        public IClrPropertyGetter[] Getters { get; }

        public RelationalTypeMapping[] Mappings { get; }

        /// <summary>Per column: its CLR type is one <see cref="NonFiniteGuardInterceptor.TryReplace"/> can replace (double, float, decimal).</summary>
        public bool[] Guarded { get; }

        /// <summary>
        /// How <see cref="SqliteNativeStatement"/> binds the values of column <paramref name="column"/>
        /// (<see cref="SqliteNativeStatement.KindOf"/>), decided on first use; SQLite models only (a PostgreSQL mapping makes
        /// no <see cref="SqliteParameter"/>).
        /// </summary>
        public SqliteNativeStatement.Kind NativeKind(int column)
        {
            var known = Volatile.Read(ref nativeKinds[column]); // the kind + 1; 0 until decided (racing writers store the same)
            if (known == 0)
            {
                known = (byte)(SqliteNativeStatement.KindOf(Mappings[column]) + 1);
                Volatile.Write(ref nativeKinds[column], known);
            }
            return (SqliteNativeStatement.Kind)(known - 1);
        }

        /// <summary>Every column is of a kind <see cref="SqliteNativeStatement"/> binds (SQLite models only).</summary>
        public bool AllNative => AllNativeOf(Enumerable.Range(0, Columns.Length));

        /// <summary>Each of <paramref name="columns"/> is of a kind <see cref="SqliteNativeStatement"/> binds (SQLite models only).</summary>
        public bool AllNativeOf(IEnumerable<int> columns)
        {
            foreach (var c in columns)
            {
                if (NativeKind(c) == SqliteNativeStatement.Kind.Unsupported)
                {
                    return false;
                }
            }
            return true;
        }

        private readonly byte[] nativeKinds;

        /// <summary>The multi-row INSERT text per row count (index = rows), built on first use.</summary>
        public string?[] SqlByRows { get; } = new string?[RowsPerInsert + 1];

        /// <summary>
        /// The value of column <paramref name="column"/> in <paramref name="entity"/>, after the number rule of
        /// <see cref="NonFiniteGuardInterceptor.TryReplace"/>; a replaced value is also set on the entity, as the interceptor
        /// does for a tracked one, so what is announced (a turn's live event) is what is stored, and serializable.
        /// </summary>
        public object? ValueOf(int column, object entity)
        {
            var value = Getters[column].GetClrValueUsingContainingEntity(entity);
            if (Guarded[column] && NonFiniteGuardInterceptor.TryReplace(Columns[column], value, out var replacement))
            {
                Columns[column].PropertyInfo?.SetValue(entity, replacement);
                value = replacement;
            }
            return value;
        }

        /// <summary>
        /// <paramref name="value"/> as column <paramref name="column"/> stores it: after the number rule of
        /// <see cref="NonFiniteGuardInterceptor.TryReplace"/> and the column's value converter (UTC ticks for times on SQLite);
        /// what <see cref="Parameter"/>'s parameter would hold, null for SQL NULL.
        /// </summary>
        public object? ProviderValue(int column, object? value)
        {
            if (Guarded[column] && NonFiniteGuardInterceptor.TryReplace(Columns[column], value, out var replacement))
            {
                value = replacement;
            }
            return value is null ? null : Mappings[column].Converter is { } converter ? converter.ConvertToProvider(value) : value;
        }

        /// <summary>
        /// Parameter <c>@p{index}</c> holding <paramref name="value"/> as column <paramref name="column"/> stores it (its type
        /// mapping and value converter: UTC ticks for times on SQLite), after the number rule of
        /// <see cref="NonFiniteGuardInterceptor.TryReplace"/>. <paramref name="factory"/> only makes the provider's parameter.
        /// </summary>
        public DbParameter Parameter(DbCommand factory, int column, object? value, int index)
        {
            var property = Columns[column];
            if (Guarded[column] && NonFiniteGuardInterceptor.TryReplace(property, value, out var replacement))
            {
                value = replacement;
            }
            var name = index < Names.Length ? Names[index] : "@p" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Mappings[column].CreateParameter(factory, name, value, property.IsNullable);
        }
    }

    /// <summary>
    /// <see cref="InsertEventOfCallAsync"/>'s part of the model: the event's shape, the index of its <c>CallId</c> column, the
    /// call's shape with the columns the statement matches on, and the statement per set of call properties required.
    /// </summary>
    private sealed class EventOfCallShape
    {
        private readonly ConcurrentDictionary<CallPropertySet, string> sqlBySet = new();

        public EventOfCallShape(IModel model)
        {
            Events = new InsertShape(model.FindEntityType(typeof(CallEvent))!);
            CallIdColumn = Array.FindIndex(Events.Columns, c => c.Name == nameof(CallEvent.CallId));
            CallType = model.FindEntityType(typeof(Call))!;
            Calls = new InsertShape(CallType);
            CallTenantId = CallColumn(nameof(Call.TenantId));
            CallProvider = CallColumn(nameof(Call.Provider));
            CallProviderCallId = CallColumn(nameof(Call.ProviderCallId));
            CallUpdatedAt = CallColumn(nameof(Call.UpdatedAt));
        }

        public InsertShape Events { get; }

        public int CallIdColumn { get; }

        public IEntityType CallType { get; }

        public InsertShape Calls { get; }

        public int CallTenantId { get; }

        public int CallProvider { get; }

        public int CallProviderCallId { get; }

        public int CallUpdatedAt { get; }

        /// <summary>Every value the statement binds is of a kind <see cref="SqliteNativeStatement"/> binds (SQLite models only); decided once.</summary>
        public bool AllNative
        {
            get
            {
                var known = Volatile.Read(ref allNative); // 1 yes, 2 no, 0 until decided
                if (known == 0)
                {
                    known = Events.AllNative && Calls.AllNativeOf([CallTenantId, CallProvider, CallProviderCallId, CallUpdatedAt]) ? 1 : 2;
                    Volatile.Write(ref allNative, known);
                }
                return known == 1;
            }
        }

        private int allNative;

        /// <summary>Index in <see cref="Calls"/>' columns of <see cref="Call"/> property <paramref name="name"/>; <see cref="ArgumentException"/> when it has none.</summary>
        public int CallColumn(string name)
        {
            var index = Array.FindIndex(Calls.Columns, c => c.Name == name);
            return index >= 0 ? index : throw new ArgumentException($"Call has no property {name}.", "setCallProperties");
        }

        /// <summary>The statement requiring each of <paramref name="setCallProperties"/> non-null, built once per set (in order).</summary>
        public string Sql(SwitchboardDbContext db, IReadOnlyList<string> setCallProperties)
        {
            var key = new CallPropertySet(setCallProperties);
            if (sqlBySet.TryGetValue(key, out var sql))
            {
                return sql;
            }
            sql = Build(db, setCallProperties);
            sqlBySet.TryAdd(new CallPropertySet(setCallProperties.ToArray()), sql); // a copy: the caller's list may change
            return sql;
        }

        private string Build(SwitchboardDbContext db, IReadOnlyList<string> setCallProperties)
        {
            var helper = db.GetService<ISqlGenerationHelper>();
            var events = Events.Table;
            var columns = Events.Columns;
            var calls = Calls.Table;
            string Column(string property) => "c." + helper.DelimitIdentifier(Calls.Columns[CallColumn(property)].GetColumnName(calls)!);
            var key = Events.Columns[0].DeclaringType.ContainingEntityType.GetIndexes()
                .Single(x => x.IsUnique && x.Properties.Any(p => p.Name == nameof(CallEvent.IdempotencyKey)));
            var text = new StringBuilder("INSERT INTO ").Append(helper.DelimitIdentifier(events.Name, events.Schema)).Append(" (")
                .AppendJoin(", ", columns.Select(c => helper.DelimitIdentifier(c.GetColumnName(events)!))).Append(") SELECT ")
                .AppendJoin(", ", columns.Select((_, c) => c == CallIdColumn ? Column(nameof(Call.Id)) : "@p" + c))
                .Append(" FROM ").Append(helper.DelimitIdentifier(calls.Name, calls.Schema)).Append(" AS c WHERE ")
                .Append(Column(nameof(Call.TenantId))).Append(" = @p").Append(columns.Length)
                .Append(" AND ").Append(Column(nameof(Call.Provider))).Append(" = @p").Append(columns.Length + 1)
                .Append(" AND ").Append(Column(nameof(Call.ProviderCallId))).Append(" = @p").Append(columns.Length + 2)
                .Append(" AND ").Append(Column(nameof(Call.UpdatedAt))).Append(" > @p").Append(columns.Length + 3);
            foreach (var property in setCallProperties)
            {
                text.Append(" AND ").Append(Column(property)).Append(" IS NOT NULL");
            }
            // SQLite reads "ON CONFLICT" after a SELECT's FROM as a join constraint unless a WHERE comes first (sqlite.org/lang_upsert.html §2.2): there is one.
            return text.Append(" ON CONFLICT (").AppendJoin(", ", key.Properties.Select(p => helper.DelimitIdentifier(p.GetColumnName(events)!)))
                .Append(") DO NOTHING").ToString();
        }
    }

    /// <summary>A list of <see cref="Call"/> property names compared by content, in order (a key of <see cref="EventOfCallShape"/>'s statements).</summary>
    private readonly struct CallPropertySet(IReadOnlyList<string> names) : IEquatable<CallPropertySet>
    {
        private readonly IReadOnlyList<string> names = names;

        public bool Equals(CallPropertySet other)
        {
            if (names.Count != other.names.Count)
            {
                return false;
            }
            for (var i = 0; i < names.Count; i++)
            {
                if (!string.Equals(names[i], other.names[i], StringComparison.Ordinal))
                {
                    return false;
                }
            }
            return true;
        }

        public override bool Equals(object? obj) => obj is CallPropertySet other && Equals(other);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            for (var i = 0; i < names.Count; i++)
            {
                hash.Add(names[i], StringComparer.Ordinal);
            }
            return hash.ToHashCode();
        }
    }

    /// <summary>Shapes per model (one per provider and context configuration) and entity type; models are few and live as long as the process.</summary>
    private static readonly ConcurrentDictionary<(IModel Model, Type Entity), InsertShape> Shapes = new();

    private static readonly ConcurrentDictionary<IModel, EventOfCallShape> EventOfCallShapes = new();

    /// <summary>The insert shape of entity type <paramref name="type"/> in this context's model; <see cref="InvalidOperationException"/> when not an entity type.</summary>
    private InsertShape ShapeOf(Type type) => Shapes.GetOrAdd((Model, type), static key =>
        new InsertShape(key.Model.FindEntityType(key.Entity) as IEntityType ?? throw new InvalidOperationException($"{key.Entity.Name} is not an entity type.")));

    private EventOfCallShape EventOfCallShapeOf() => EventOfCallShapes.GetOrAdd(Model, static model => new EventOfCallShape(model));

    /// <summary><c>INSERT INTO t (c…) VALUES (@p0, …), (…)</c> for <paramref name="rows"/> rows, built once per shape (model and type) and size.</summary>
    private string InsertSql(InsertShape shape, int rows)
    {
        if (Volatile.Read(ref shape.SqlByRows[rows]) is { } cached)
        {
            return cached;
        }
        var sql = this.GetService<ISqlGenerationHelper>();
        var table = shape.Table;
        var columns = shape.Columns;
        var text = new StringBuilder("INSERT INTO ").Append(sql.DelimitIdentifier(table.Name, table.Schema)).Append(" (")
            .AppendJoin(", ", columns.Select(c => sql.DelimitIdentifier(c.GetColumnName(table)!))).Append(") VALUES ");
        var p = 0;
        for (var r = 0; r < rows; r++)
        {
            text.Append(r == 0 ? "(" : ", (");
            for (var c = 0; c < columns.Length; c++, p++)
            {
                text.Append(c == 0 ? "@p" : ", @p").Append(p);
            }
            text.Append(')');
        }
        var built = text.ToString();
        Volatile.Write(ref shape.SqlByRows[rows], built);
        return built;
    }
}
