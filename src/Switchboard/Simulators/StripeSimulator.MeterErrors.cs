using System.Globalization;
using System.Text.Json.Nodes;

namespace Switchboard.Simulators;

/// <summary>
/// The fake's asynchronous meter-event failures (stripe-billing.md §2.2): Stripe answers 200 to a meter event and may
/// reject it later, reporting it through the thin event <c>v1.billing.meter.error_report_triggered</c> delivered to an
/// event destination. A thin event carries no <c>data</c>: the receiver fetches the full event from
/// <c>GET /v2/core/events/{id}</c> (<c>data.reason.error_types[].code</c>, <c>sample_errors[].request.identifier</c>).
/// The fake delivers thin events, signed like every other event, to its webhook endpoints.
/// </summary>
internal sealed partial class StripeSimulator
{
    private readonly Dictionary<string, JsonObject> v2Events = new(StringComparer.Ordinal);

    /// <summary>Forgets an accepted meter event, as if Stripe had lost it: summaries and invoices no longer count it. Returns whether it was held.</summary>
    public bool LoseMeterEvent(string identifier)
    {
        lock (gate)
        {
            return meterEvents.RemoveAll(e => (string?)e["identifier"] == identifier) > 0;
        }
    }

    /// <summary>
    /// Rejects an accepted meter event after the fact (it stops counting) and delivers the thin event
    /// <c>v1.billing.meter.error_report_triggered</c> for its meter, with <paramref name="code"/> (e.g.
    /// <c>meter_event_customer_not_found</c>, <c>timestamp_too_far_in_past</c>) and the event's identifier as the sample.
    /// Returns the full (fetched) form of the event.
    /// </summary>
    public async Task<JsonObject> RejectMeterEventAsync(string identifier, string code, string message, CancellationToken ct = default)
    {
        JsonObject full;
        lock (gate)
        {
            var ev = meterEvents.FirstOrDefault(e => (string?)e["identifier"] == identifier) ?? throw new InvalidOperationException($"No meter event {identifier}.");
            meterEvents.Remove(ev);
            var meter = objects.Values.First(o => (string?)o["object"] == "billing.meter" && (string?)o["event_name"] == (string?)ev["event_name"]);
            var now = Clock.GetUtcNow();
            full = new JsonObject
            {
                ["id"] = NewId("evt"),
                ["object"] = "v2.core.event",
                ["type"] = "v1.billing.meter.error_report_triggered",
                ["created"] = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                ["livemode"] = false,
                ["context"] = null,
                ["related_object"] = new JsonObject
                {
                    ["id"] = (string)meter["id"]!, ["type"] = "billing.meter", ["url"] = $"/v1/billing/meters/{meter["id"]}",
                },
                ["data"] = new JsonObject
                {
                    ["developer_message_summary"] = $"There is 1 invalid event: {message}",
                    ["reason"] = new JsonObject
                    {
                        ["error_count"] = 1,
                        ["error_types"] = new JsonArray(new JsonObject
                        {
                            ["code"] = code,
                            ["error_count"] = 1,
                            ["sample_errors"] = new JsonArray(new JsonObject
                            {
                                ["error_message"] = message, ["request"] = new JsonObject { ["identifier"] = identifier },
                            }),
                        }),
                    },
                    ["validation_start"] = now.AddMinutes(-1).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                    ["validation_end"] = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                },
            };
            v2Events[(string)full["id"]!] = full;
        }
        var thin = full.DeepClone().AsObject();
        thin.Remove("data");
        Events.Enqueue(thin);
        await DeliverAsync([thin], ct);
        return full.DeepClone().AsObject();
    }

    /// <summary><c>GET /v2/core/events/{id}</c>: the full form of a thin event (JSON; errors in the v1 envelope; <see cref="FailNext"/> applies).</summary>
    private async Task V2EventAsync(HttpContext http, string id)
    {
        Requests.Enqueue(("GET", "/v2/core/events/" + id, [], null, http.Request.Headers["Stripe-Version"].ToString()));
        if (!http.Request.Headers.Authorization.ToString().StartsWith("Bearer sk_", StringComparison.Ordinal))
        {
            await WriteAsync(http, 401, Error("invalid_request_error", null, "You did not provide an API key.").ToJsonString());
            return;
        }
        if (faults.TryPeek(out var fault) && ("/v2/core/events/" + id).StartsWith(fault.PathPrefix, StringComparison.Ordinal) && faults.TryDequeue(out fault))
        {
            http.Response.Headers["Stripe-Should-Retry"] = "true";
            await WriteAsync(http, fault.Status, Error("api_error", null, "Simulated failure.").ToJsonString());
            return;
        }
        JsonObject? full;
        lock (gate)
        {
            full = v2Events.TryGetValue(id, out var e) ? e.DeepClone().AsObject() : null;
        }
        await (full is null
            ? WriteAsync(http, 404, Error("invalid_request_error", "resource_missing", $"No such event: '{id}'").ToJsonString())
            : WriteAsync(http, 200, full.ToJsonString()));
    }
}
