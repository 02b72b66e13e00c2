using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;

namespace Switchboard.Tests.Support;

/// <summary>
/// A <see cref="TestDatabase"/> with every migration applied by the <see cref="Switchboard.Platform.Database.Migrator"/>, over the services
/// <c>switchboard migrate</c> needs (logging, the database options, a tenant scope, a <see cref="SwitchboardDbContext"/>): the
/// starting point of a migration's own test, which undoes the migration, writes the rows it wants to see migrated, and
/// applies it again with <see cref="Migrator"/>.
/// </summary>
internal sealed class MigratedDatabase : IAsyncDisposable
{
    private MigratedDatabase(ServiceProvider services, Migrator migrator)
    {
        Services = services;
        Migrator = migrator;
    }

    /// <summary>The services the migrator runs on.</summary>
    public ServiceProvider Services { get; }

    /// <summary>The migrator over <see cref="Services"/>; <c>MigrateAsync</c> returns the ids it applied.</summary>
    public Migrator Migrator { get; }

    /// <summary>Builds the services over <paramref name="database"/> and applies every migration.</summary>
    public static async Task<MigratedDatabase> CreateAsync(TestDatabase database)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IOptions<DatabaseOptions>>(Options.Create(new DatabaseOptions { Provider = database.Provider, ConnectionString = database.ConnectionString }));
        services.AddScoped<CurrentTenant>();
        services.AddDbContext<SwitchboardDbContext>((sp, o) =>
        {
            var opts = sp.GetRequiredService<IOptions<DatabaseOptions>>().Value;
            if (opts.IsPostgres) { o.UseNpgsql(opts.ConnectionString); } else { o.UseSqlite(opts.ConnectionString); }
        });
        var provider = services.BuildServiceProvider();
        var migrator = new Migrator(provider.GetRequiredService<IServiceScopeFactory>(), provider.GetRequiredService<IOptions<DatabaseOptions>>(), NullLogger<Migrator>.Instance);
        await migrator.MigrateAsync(CancellationToken.None);
        return new MigratedDatabase(provider, migrator);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => Services.DisposeAsync();
}
