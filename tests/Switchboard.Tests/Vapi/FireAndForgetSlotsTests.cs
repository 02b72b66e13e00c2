using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Tests.Support;
using Switchboard.Vapi;

namespace Switchboard.Tests.Vapi;

/// <summary>
/// Request/response messages ahead of fire-and-forget ones on PostgreSQL (issue 13, <see cref="FireAndForgetSlots"/>): with
/// every fire-and-forget slot taken, a status update waits for one while an <c>assistant-request</c> is answered. On SQLite
/// the slots are not used (the single writer orders units by priority instead): the status update is written at once.
/// </summary>
[Trait("Category", "Database")]
public sealed class FireAndForgetSlotsTests(FireAndForgetSlotsTests.OneSlotFactory factory) : IClassFixture<FireAndForgetSlotsTests.OneSlotFactory>
{
    /// <summary>The test host with one fire-and-forget slot.</summary>
    public sealed class OneSlotFactory : SwitchboardFactory
    {
        protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
        {
            ["Switchboard:Vapi:PostgresFireAndForgetConcurrency"] = "1",
        };
    }

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task WithEverySlotTakenARequestResponseMessageIsAnsweredWhileAFireAndForgetOneWaitsForASlot()
    {
        var tenant = await factory.CreateTenantAsync("Slots");
        var slots = factory.Services.GetRequiredService<FireAndForgetSlots>();
        var waitingCall = Guid.NewGuid().ToString();
        var answeredCall = Guid.NewGuid().ToString();
        Task<HttpResponseMessage> statusUpdate;
        using (await slots.EnterAsync(CancellationToken.None)) // the one slot, as a burst of transcripts would hold it
        {
            statusUpdate = factory.PostVapiAsync(tenant, Message("status-update", waitingCall, status: "in-progress"));
            if (TestDatabase.IsPostgres)
            {
                // Bounded: the request reaches the slots within a few milliseconds; 2 s at most.
                for (var i = 0; i < 400 && slots.Waiting == 0; i++)
                {
                    await Task.Delay(5);
                }
                Assert.Equal(1, slots.Waiting);
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, (await statusUpdate.WaitAsync(Bound)).StatusCode);
            }

            var answer = await factory.PostVapiAsync(tenant, Message("assistant-request", answeredCall)).WaitAsync(Bound);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            using var reply = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
            Assert.True(reply.RootElement.TryGetProperty("assistant", out _) || reply.RootElement.TryGetProperty("assistantId", out _),
                reply.RootElement.GetRawText());
            Assert.Equal(TestDatabase.IsPostgres ? 1 : 0, slots.Waiting);
            Assert.Equal(!TestDatabase.IsPostgres, statusUpdate.IsCompleted);
        }

        // The slot given back: the status update goes through and is stored.
        Assert.Equal(HttpStatusCode.OK, (await statusUpdate.WaitAsync(Bound)).StatusCode);
        Assert.Equal(0, slots.Waiting);
        var statuses = await factory.WithDbAsync(tenant.Id, db => db.Calls
            .Where(c => c.ProviderCallId == waitingCall || c.ProviderCallId == answeredCall)
            .Select(c => c.ProviderCallId).ToListAsync());
        Assert.Equal(2, statuses.Count);
    }

    [Theory]
    [InlineData("", 6)] // the pool the server sizes itself on a 2-core node: 8
    [InlineData(";Maximum Pool Size=3", 1)]
    [InlineData(";Maximum Pool Size=10", 8)]
    [InlineData(";Maximum Pool Size=100", 16)]
    public void UnsetTheSlotsLeaveTwoOfThePoolsConnectionsToRequestResponseMessages(string pool, int expected)
    {
        if (pool == "" && Environment.ProcessorCount != 2)
        {
            expected = Math.Clamp(Switchboard.Platform.Database.DatabaseExtensions.DefaultMaxPoolSize(Environment.ProcessorCount) - 2, 1, 16);
        }
        var connection = new Switchboard.Platform.Database.DatabaseExtensions.EffectiveConnection(Microsoft.Extensions.Options.Options.Create(
            new Switchboard.Platform.Database.DatabaseOptions { Provider = "postgres", ConnectionString = "Host=db;Username=u;Database=d" + pool }));
        Assert.Equal(expected, FireAndForgetSlots.DefaultSlots(connection));
    }

    private static string Message(string type, string callId, string? status = null) => JsonSerializer.Serialize(new
    {
        message = new { type, status, call = new { id = callId, type = "inboundPhoneCall", customer = new { number = "+15145551234" } } },
    });
}
