using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Switchboard.Simulators;

/// <summary>
/// A fake Stripe on 127.0.0.1 (port 0 by default) for tests and local simulation, speaking the REST wire Stripe.net
/// 53.1.0 uses (shared/protocols/stripe-billing.md §2–§8): <c>Authorization: Bearer sk_…</c>, form-encoded bodies with
/// bracket notation (<c>payload[value]</c>, <c>line_items[0][price]</c>), JSON answers, Stripe's error envelope
/// <c>{"error":{"type","code","message","param"}}</c>, and <c>Idempotency-Key</c> replay (the saved status and body are
/// returned for the same key and parameters; the same key with other parameters is a 400 <c>idempotency_error</c>).
/// Objects: customers, products, prices, billing meters and meter events (unique <c>identifier</c>; timestamps older
/// than 35 days or more than 5 minutes ahead refused), meter event summaries, checkout sessions (a hosted page at
/// <c>/checkout/{id}</c> whose Pay button completes it), billing portal sessions (<c>/portal/{id}</c> with a Cancel
/// button), subscriptions, invoices (list with <c>hosted_invoice_url</c>, <c>create_preview</c>) with their payments (payment
/// intents, invoice payments) and refunds, credit grants and the
/// credit balance summary, webhook endpoints. Events are signed as Stripe signs them (§6.1) and POSTed to every
/// webhook endpoint through <see cref="WebhookClient"/> (tests give the in-memory host's client). State is in memory.
/// </summary>
internal sealed partial class StripeSimulator : IAsyncDisposable
{
    /// <summary>API version Stripe.net 53.1.0 is pinned to; the fake stamps it on every event.</summary>
    public const string ApiVersion = "2026-10-28.endive";

    /// <summary>Port of <c>switchboard simulate-stripe</c>-style local use.</summary>
    public const int DefaultPort = 12111;

    private readonly WebApplication app;
    private readonly Lock gate = new();
    private readonly Dictionary<string, JsonObject> objects = new(StringComparer.Ordinal);
    private readonly List<JsonObject> meterEvents = [];
    private readonly Dictionary<string, (string Fingerprint, int Status, string Body)> idempotency = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string PathPrefix, int Status)> faults = new();
    private long ids;

    private StripeSimulator(WebApplication app) => this.app = app;

    /// <summary>Base URL without a trailing slash, e.g. <c>http://127.0.0.1:41234</c> (Stripe.net's <c>ApiBase</c>).</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>The fake's clock (event <c>created</c>, the meter events' 35-day window); tests share the host's.</summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;

    /// <summary>Client that POSTs webhook events; null uses a plain <see cref="HttpClient"/>. Tests pass the in-memory host's client.</summary>
    public HttpClient? WebhookClient { get; set; }

    /// <summary>Every event created, in order.</summary>
    public ConcurrentQueue<JsonObject> Events { get; } = new();

    /// <summary>Every request: method, path and form body (URL-decoded keys and values; a DELETE's are its query string's).</summary>
    public ConcurrentQueue<(string Method, string Path, Dictionary<string, string> Form, string? IdempotencyKey, string? StripeVersion)> Requests { get; } = new();

    /// <summary>Answers of webhook deliveries: event id and HTTP status.</summary>
    public ConcurrentQueue<(string EventId, int Status)> Deliveries { get; } = new();

    public static async Task<StripeSimulator> StartAsync(int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var sim = new StripeSimulator(app);
        sim.MapPages(app);
        app.Map("/v1/{**path}", sim.ApiAsync);
        app.MapGet("/v2/core/events/{id}", sim.V2EventAsync);
        await app.StartAsync();
        sim.BaseUrl = app.Urls.First().TrimEnd('/');
        return sim;
    }

    /// <summary>The next <paramref name="count"/> requests whose path starts with <paramref name="pathPrefix"/> fail with <paramref name="status"/> before any work (like a proxy error: nothing is saved for their idempotency key).</summary>
    public void FailNext(string pathPrefix, int count = 1, int status = 500)
    {
        for (var i = 0; i < count; i++)
        {
            faults.Enqueue((pathPrefix, status));
        }
    }

    /// <summary>When set, an accepted meter event's answer waits for this task (the event is already stored): a caller killed meanwhile never reads it.</summary>
    public TaskCompletionSource? HoldAfterAccept { get; set; }

    private int held;

    /// <summary>How many answers <see cref="HoldAfterAccept"/> has held so far.</summary>
    public int Held => Volatile.Read(ref held);

    /// <summary>Meter events accepted so far (copies).</summary>
    public IReadOnlyList<JsonObject> MeterEvents
    {
        get { lock (gate) { return meterEvents.Select(e => e.DeepClone().AsObject()).ToList(); } }
    }

    /// <summary>A stored object by id (a copy), or null.</summary>
    public JsonObject? Get(string id)
    {
        lock (gate) { return objects.TryGetValue(id, out var o) ? o.DeepClone().AsObject() : null; }
    }

    /// <summary>All stored objects of one <c>object</c> type (copies).</summary>
    public IReadOnlyList<JsonObject> All(string objectType)
    {
        lock (gate) { return objects.Values.Where(o => (string?)o["object"] == objectType).Select(o => o.DeepClone().AsObject()).ToList(); }
    }

    private long Now => Clock.GetUtcNow().ToUnixTimeSeconds();

    private string NewId(string prefix) => $"{prefix}_sim{Interlocked.Increment(ref ids):D6}{RandomNumberGenerator.GetHexString(8, lowercase: true)}";

    private async Task ApiAsync(HttpContext http, string path)
    {
        var method = http.Request.Method;
        var form = new Dictionary<string, string>(StringComparer.Ordinal);
        if (http.Request.HasFormContentType)
        {
            foreach (var (k, v) in await http.Request.ReadFormAsync(http.RequestAborted))
            {
                form[k] = v.ToString();
            }
        }
        var query = http.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString(), StringComparer.Ordinal);
        var key = http.Request.Headers["Idempotency-Key"].ToString();
        if (method == "DELETE")
        {
            foreach (var (k, v) in query)
            {
                form.TryAdd(k, v); // Stripe.net sends a DELETE's parameters (a cancellation's prorate) in the query string
            }
        }
        Requests.Enqueue((method, "/v1/" + path, form, key.Length == 0 ? null : key, http.Request.Headers["Stripe-Version"].ToString()));

        if (!http.Request.Headers.Authorization.ToString().StartsWith("Bearer sk_", StringComparison.Ordinal))
        {
            await WriteAsync(http, 401, Error("invalid_request_error", null, "You did not provide an API key.").ToJsonString());
            return;
        }
        if (faults.TryPeek(out var fault) && ("/v1/" + path).StartsWith(fault.PathPrefix, StringComparison.Ordinal) && faults.TryDequeue(out fault))
        {
            http.Response.Headers["Stripe-Should-Retry"] = "true";
            await WriteAsync(http, fault.Status, Error("api_error", null, "Simulated failure.").ToJsonString());
            return;
        }

        var fingerprint = method + " " + path + " " + string.Join("&", form.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + p.Value));
        if (method == "POST" && key.Length > 0)
        {
            lock (gate)
            {
                if (idempotency.TryGetValue(key, out var saved))
                {
                    if (saved.Fingerprint != fingerprint)
                    {
                        var mismatch = Error("idempotency_error", null,
                            $"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request.");
                        http.Response.StatusCode = 400;
                        http.Response.ContentType = "application/json";
                        http.Response.WriteAsync(mismatch.ToJsonString()).GetAwaiter().GetResult();
                        return;
                    }
                    http.Response.Headers["Idempotent-Replayed"] = "true";
                    http.Response.StatusCode = saved.Status;
                    http.Response.ContentType = "application/json";
                    http.Response.WriteAsync(saved.Body).GetAwaiter().GetResult();
                    return;
                }
            }
        }

        (int Status, JsonObject Body, List<JsonObject> Events) result;
        try
        {
            result = Handle(method, path.TrimEnd('/'), form, query);
        }
        catch (StripeFakeError e)
        {
            result = (e.Status, Error(e.Type, e.Code, e.Message, e.Param), []);
        }
        var body = result.Body.ToJsonString();
        // Validation failures are not saved (docs.stripe.com/api/idempotent_requests); everything that executed is.
        if (method == "POST" && key.Length > 0 && result.Status != 400)
        {
            lock (gate)
            {
                idempotency[key] = (fingerprint, result.Status, body);
            }
        }
        if (path == "billing/meter_events" && result.Status == 200 && HoldAfterAccept is { } hold)
        {
            // Accepted and saved, answer not yet sent: the caller dies here in crash tests.
            Interlocked.Increment(ref held);
            await hold.Task;
        }
        await WriteAsync(http, result.Status, body);
        await DeliverAsync(result.Events, http.RequestAborted);
    }

    private static async Task WriteAsync(HttpContext http, int status, string body)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        http.Response.Headers["Request-Id"] = "req_sim" + RandomNumberGenerator.GetHexString(12, lowercase: true);
        await http.Response.WriteAsync(body);
    }

    private static JsonObject Error(string type, string? code, string message, string? param = null) => new()
    {
        ["error"] = new JsonObject
        {
            ["type"] = type,
            ["code"] = code,
            ["message"] = message,
            ["param"] = param,
            ["doc_url"] = code is null ? null : "https://docs.stripe.com/error-codes/" + code.Replace('_', '-'),
        },
    };

    private sealed class StripeFakeError(int status, string type, string? code, string message, string? param = null) : Exception(message)
    {
        public int Status => status;
        public string Type => type;
        public string? Code => code;
        public string? Param => param;
    }

    private static StripeFakeError Missing(string id, string param = "id") =>
        new(404, "invalid_request_error", "resource_missing", $"No such object: '{id}'", param);

    private static StripeFakeError Invalid(string message, string? param = null, string? code = "parameter_invalid_string") =>
        new(400, "invalid_request_error", code, message, param);

    private static string Required(Dictionary<string, string> form, string key) =>
        form.TryGetValue(key, out var v) && v.Length > 0 ? v : throw Invalid($"Missing required param: {key}.", key, "parameter_missing");

    private static string? Opt(Dictionary<string, string> form, string key) => form.TryGetValue(key, out var v) && v.Length > 0 ? v : null;

    /// <summary><c>metadata[k]=v</c> → {k: v}.</summary>
    private static JsonObject Sub(Dictionary<string, string> form, string prefix)
    {
        var o = new JsonObject();
        foreach (var (k, v) in form.Where(p => p.Key.StartsWith(prefix + "[", StringComparison.Ordinal) && p.Key.EndsWith(']')))
        {
            var inner = k[(prefix.Length + 1)..^1];
            if (!inner.Contains('['))
            {
                o[inner] = v;
            }
        }
        return o;
    }

    private static JsonObject List(IEnumerable<JsonObject> data, string url) => new()
    {
        ["object"] = "list",
        ["data"] = new JsonArray(data.Select(d => (JsonNode)d.DeepClone()).ToArray()),
        ["has_more"] = false,
        ["url"] = url,
    };

    private JsonObject Store(JsonObject o)
    {
        objects[(string)o["id"]!] = o;
        return o;
    }

    private JsonObject Find(string id, string type)
    {
        return objects.TryGetValue(id, out var o) && (string?)o["object"] == type ? o : throw Missing(id);
    }

    private (int, JsonObject, List<JsonObject>) Handle(string method, string path, Dictionary<string, string> form, Dictionary<string, string> query)
    {
        var parts = path.Split('/');
        lock (gate)
        {
            var events = new List<JsonObject>();
            JsonObject Ok(JsonObject o) => o.DeepClone().AsObject();
            switch (method, parts)
            {
                case ("POST", ["customers"]):
                    return (200, Ok(Store(new JsonObject
                    {
                        ["id"] = NewId("cus"), ["object"] = "customer", ["email"] = Opt(form, "email"), ["name"] = Opt(form, "name"),
                        ["created"] = Now, ["livemode"] = false, ["metadata"] = Sub(form, "metadata"),
                    })), events);
                case ("GET", ["customers", var id]):
                    return (200, Ok(Find(id, "customer")), events);
                case ("POST", ["products"]):
                {
                    var id = Opt(form, "id") ?? NewId("prod");
                    if (objects.ContainsKey(id))
                    {
                        throw Invalid($"Product already exists.", "id", "resource_already_exists");
                    }
                    return (200, Ok(Store(new JsonObject
                    {
                        ["id"] = id, ["object"] = "product", ["name"] = Required(form, "name"), ["active"] = true, ["created"] = Now,
                        ["livemode"] = false, ["metadata"] = Sub(form, "metadata"),
                    })), events);
                }
                case ("GET", ["products", var id]):
                    return (200, Ok(Find(id, "product")), events);
                case ("GET", ["products"]):
                    return (200, List(objects.Values.Where(o => (string?)o["object"] == "product"), "/v1/products"), events);
                case ("POST", ["prices"]):
                    return (200, Ok(Store(CreatePrice(form))), events);
                case ("GET", ["prices"]):
                {
                    var keys = query.Where(q => q.Key.StartsWith("lookup_keys", StringComparison.Ordinal)).SelectMany(q => q.Value.Split(',')).ToHashSet(StringComparer.Ordinal);
                    var prices = objects.Values.Where(o => (string?)o["object"] == "price" && (bool?)o["active"] == true
                        && (keys.Count == 0 || keys.Contains((string?)o["lookup_key"] ?? "")));
                    return (200, List(prices, "/v1/prices"), events);
                }
                case ("GET", ["prices", var id]):
                    return (200, Ok(Find(id, "price")), events);
                case ("POST", ["billing", "meters"]):
                {
                    var name = Required(form, "event_name");
                    if (objects.Values.Any(o => (string?)o["object"] == "billing.meter" && (string?)o["event_name"] == name && (string?)o["status"] == "active"))
                    {
                        throw Invalid($"A meter with event_name '{name}' already exists.", "event_name", "resource_already_exists");
                    }
                    return (200, Ok(Store(new JsonObject
                    {
                        ["id"] = NewId("mtr"), ["object"] = "billing.meter", ["display_name"] = Required(form, "display_name"), ["event_name"] = name,
                        ["status"] = "active", ["created"] = Now, ["livemode"] = false,
                        ["default_aggregation"] = new JsonObject { ["formula"] = Opt(form, "default_aggregation[formula]") ?? "sum" },
                        ["customer_mapping"] = new JsonObject
                        {
                            ["type"] = "by_id", ["event_payload_key"] = Opt(form, "customer_mapping[event_payload_key]") ?? "stripe_customer_id",
                        },
                        ["value_settings"] = new JsonObject { ["event_payload_key"] = Opt(form, "value_settings[event_payload_key]") ?? "value" },
                    })), events);
                }
                case ("GET", ["billing", "meters"]):
                    return (200, List(objects.Values.Where(o => (string?)o["object"] == "billing.meter"), "/v1/billing/meters"), events);
                case ("GET", ["billing", "meters", var id]):
                    return (200, Ok(Find(id, "billing.meter")), events);
                case ("GET", ["billing", "meters", var id, "event_summaries"]):
                    return (200, EventSummaries(Find(id, "billing.meter"), query), events);
                case ("POST", ["billing", "meter_events"]):
                    return (200, Ok(CreateMeterEvent(form)), events);
                case ("POST", ["billing", "credit_grants"]):
                {
                    var customer = Find(Required(form, "customer"), "customer");
                    var value = long.Parse(Required(form, "amount[monetary][value]"), CultureInfo.InvariantCulture);
                    var grant = Store(new JsonObject
                    {
                        ["id"] = NewId("credgr"), ["object"] = "billing.credit_grant", ["customer"] = (string)customer["id"]!,
                        ["name"] = Opt(form, "name"), ["category"] = Opt(form, "category") ?? "paid", ["created"] = Now, ["livemode"] = false,
                        ["amount"] = new JsonObject
                        {
                            ["type"] = "monetary",
                            ["monetary"] = new JsonObject { ["value"] = value, ["currency"] = Required(form, "amount[monetary][currency]") },
                        },
                        ["expires_at"] = Opt(form, "expires_at") is { } e ? long.Parse(e, CultureInfo.InvariantCulture) : null,
                        ["metadata"] = Sub(form, "metadata"),
                    });
                    events.Add(NewEvent("billing.credit_grant.created", grant));
                    return (200, Ok(grant), events);
                }
                case ("GET", ["billing", "credit_balance_summary"]):
                    return (200, CreditBalance(query.GetValueOrDefault("customer") ?? throw Invalid("Missing required param: customer.", "customer", "parameter_missing")), events);
                case ("POST", ["checkout", "sessions"]):
                    return (200, Ok(Store(CreateCheckout(form))), events);
                case ("GET", ["checkout", "sessions", var id]):
                    return (200, Ok(Find(id, "checkout.session")), events);
                case ("GET", ["checkout", "sessions"]):
                    return (200, List(objects.Values.Where(o => (string?)o["object"] == "checkout.session"
                        && (!query.TryGetValue("customer", out var c) || (string?)o["customer"] == c)
                        && (!query.TryGetValue("status", out var st) || (string?)o["status"] == st))
                        .OrderByDescending(o => (long)o["created"]!), "/v1/checkout/sessions"), events);
                case ("POST", ["checkout", "sessions", var id, "expire"]):
                {
                    // Only an open session can be expired; a completed one is refused as Stripe refuses it.
                    var session = Find(id, "checkout.session");
                    if ((string?)session["status"] != "open")
                    {
                        throw Invalid($"Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a status of \"{(string?)session["status"]}\".", null, null);
                    }
                    session["status"] = "expired";
                    events.Add(NewEvent("checkout.session.expired", session));
                    return (200, Ok(session), events);
                }
                case ("POST", ["billing_portal", "sessions"]):
                {
                    var customer = Find(Required(form, "customer"), "customer");
                    var id = NewId("bps");
                    return (200, Ok(Store(new JsonObject
                    {
                        ["id"] = id, ["object"] = "billing_portal.session", ["customer"] = (string)customer["id"]!, ["created"] = Now,
                        ["return_url"] = Opt(form, "return_url"), ["url"] = $"{BaseUrl}/portal/{id}", ["livemode"] = false,
                    })), events);
                }
                case ("GET", ["subscriptions", var id]):
                    return (200, Ok(Find(id, "subscription")), events);
                case ("GET", ["subscriptions"]):
                    return (200, List(objects.Values.Where(o => (string?)o["object"] == "subscription"
                        && (!query.TryGetValue("customer", out var c) || (string?)o["customer"] == c)), "/v1/subscriptions"), events);
                case ("DELETE", ["subscriptions", var id]):
                {
                    var sub = Find(id, "subscription");
                    events.AddRange(SetStatus(sub, "canceled"));
                    return (200, Ok(sub), events);
                }
                case ("GET", ["invoices"]):
                    return (200, List(objects.Values.Where(o => (string?)o["object"] == "invoice"
                        && (!query.TryGetValue("customer", out var c) || (string?)o["customer"] == c)
                        && (!query.TryGetValue("subscription", out var s) || (string?)o["parent"]?["subscription_details"]?["subscription"] == s)
                        && (!query.TryGetValue("status", out var st) || (string?)o["status"] == st))
                        .OrderByDescending(o => (long)o["created"]!), "/v1/invoices"), events);
                case ("GET", ["invoice_payments"]):
                    return (200, List(objects.Values.Where(o => (string?)o["object"] == "invoice_payment"
                        && (!query.TryGetValue("invoice", out var inv) || (string?)o["invoice"] == inv)
                        && (!query.TryGetValue("status", out var st) || (string?)o["status"] == st)), "/v1/invoice_payments"), events);
                case ("GET", ["payment_intents", var id]):
                    return (200, Ok(Find(id, "payment_intent")), events);
                case ("POST", ["refunds"]):
                    return (200, Ok(Refund(form, events)), events);
                case ("GET", ["refunds"]):
                    return (200, List(objects.Values.Where(o => (string?)o["object"] == "refund"
                        && (!query.TryGetValue("payment_intent", out var pi) || (string?)o["payment_intent"] == pi)), "/v1/refunds"), events);
                case ("POST", ["invoices", "create_preview"]):
                    return (200, Preview(Required(form, "customer")), events);
                case ("POST", ["webhook_endpoints"]):
                {
                    var enabled = form.Where(p => p.Key.StartsWith("enabled_events[", StringComparison.Ordinal)).Select(p => (JsonNode)p.Value).ToArray();
                    return (200, Ok(Store(new JsonObject
                    {
                        ["id"] = NewId("we"), ["object"] = "webhook_endpoint", ["url"] = Required(form, "url"), ["status"] = "enabled",
                        ["api_version"] = Opt(form, "api_version"), ["enabled_events"] = new JsonArray(enabled), ["created"] = Now, ["livemode"] = false,
                        ["secret"] = "whsec_" + RandomNumberGenerator.GetHexString(32, lowercase: true),
                    })), events);
                }
                case ("GET", ["webhook_endpoints"]):
                    // The secret is returned only at creation.
                    return (200, List(objects.Values.Where(o => (string?)o["object"] == "webhook_endpoint").Select(o =>
                    {
                        var copy = o.DeepClone().AsObject();
                        copy.Remove("secret");
                        return copy;
                    }), "/v1/webhook_endpoints"), events);
                default:
                    throw new StripeFakeError(404, "invalid_request_error", null, $"Unrecognized request URL ({method}: /v1/{path}).");
            }
        }
    }

    private JsonObject CreatePrice(Dictionary<string, string> form)
    {
        var product = Find(Required(form, "product"), "product");
        var usage = Opt(form, "recurring[usage_type]") ?? "licensed";
        var meter = Opt(form, "recurring[meter]");
        if (usage == "metered" && meter is null)
        {
            throw Invalid("Metered prices must be attached to a meter.", "recurring[meter]");
        }
        if (meter is not null)
        {
            Find(meter, "billing.meter");
        }
        var lookup = Opt(form, "lookup_key");
        if (lookup is not null)
        {
            if (objects.Values.Any(o => (string?)o["object"] == "price" && (string?)o["lookup_key"] == lookup) && Opt(form, "transfer_lookup_key") != "true")
            {
                throw Invalid($"A price (`{lookup}`) already uses that lookup key.", "lookup_key", "resource_already_exists");
            }
        }
        return new JsonObject
        {
            ["id"] = NewId("price"), ["object"] = "price", ["product"] = (string)product["id"]!, ["active"] = true, ["created"] = Now, ["livemode"] = false,
            ["currency"] = Required(form, "currency"), ["lookup_key"] = lookup, ["nickname"] = Opt(form, "nickname"),
            ["unit_amount"] = Opt(form, "unit_amount") is { } ua ? long.Parse(ua, CultureInfo.InvariantCulture) : null,
            ["unit_amount_decimal"] = Opt(form, "unit_amount_decimal") ?? Opt(form, "unit_amount"),
            ["billing_scheme"] = "per_unit", ["type"] = "recurring",
            ["recurring"] = new JsonObject
            {
                ["interval"] = Opt(form, "recurring[interval]") ?? "month", ["interval_count"] = 1, ["usage_type"] = usage, ["meter"] = meter,
            },
            ["transform_quantity"] = Opt(form, "transform_quantity[divide_by]") is { } divide
                ? new JsonObject { ["divide_by"] = long.Parse(divide, CultureInfo.InvariantCulture), ["round"] = Opt(form, "transform_quantity[round]") ?? "up" }
                : null,
            ["metadata"] = Sub(form, "metadata"),
        };
    }

    private JsonObject CreateMeterEvent(Dictionary<string, string> form)
    {
        var name = Required(form, "event_name");
        var meter = objects.Values.FirstOrDefault(o => (string?)o["object"] == "billing.meter" && (string?)o["event_name"] == name && (string?)o["status"] == "active");
        var customerKey = (string?)meter?["customer_mapping"]?["event_payload_key"] ?? "stripe_customer_id";
        var valueKey = (string?)meter?["value_settings"]?["event_payload_key"] ?? "value";
        var payload = Sub(form, "payload");
        if (payload[customerKey] is null)
        {
            throw Invalid($"Missing required payload key: {customerKey}.", "payload", "parameter_missing");
        }
        if (payload[valueKey] is { } value && !long.TryParse((string?)value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
        {
            throw Invalid("The value must be a whole number.", "payload[" + valueKey + "]");
        }
        var now = Now;
        var timestamp = Opt(form, "timestamp") is { } ts ? long.Parse(ts, CultureInfo.InvariantCulture) : now;
        if (timestamp < now - (35 * 86400))
        {
            throw Invalid("Timestamp must be within the past 35 calendar days.", "timestamp", "timestamp_too_far_in_past");
        }
        if (timestamp > now + 300)
        {
            throw Invalid("Timestamp must not be more than 5 minutes in the future.", "timestamp", "timestamp_in_future");
        }
        var identifier = Opt(form, "identifier") ?? NewId("mev");
        if (identifier.Length > 100)
        {
            throw Invalid("identifier must be at most 100 characters.", "identifier");
        }
        if (meterEvents.Any(e => (string?)e["identifier"] == identifier && (string?)e["event_name"] == name))
        {
            throw Invalid($"An event already exists with identifier {identifier}.", "identifier", "resource_already_exists");
        }
        var ev = new JsonObject
        {
            ["object"] = "billing.meter_event", ["event_name"] = name, ["identifier"] = identifier, ["payload"] = payload,
            ["timestamp"] = timestamp, ["created"] = now, ["livemode"] = false,
        };
        meterEvents.Add(ev);
        return ev;
    }

    private JsonObject EventSummaries(JsonObject meter, Dictionary<string, string> query)
    {
        var customer = query.GetValueOrDefault("customer") ?? throw Invalid("Missing required param: customer.", "customer", "parameter_missing");
        var start = long.Parse(query.GetValueOrDefault("start_time") ?? throw Invalid("Missing required param: start_time.", "start_time", "parameter_missing"), CultureInfo.InvariantCulture);
        var end = long.Parse(query.GetValueOrDefault("end_time") ?? throw Invalid("Missing required param: end_time.", "end_time", "parameter_missing"), CultureInfo.InvariantCulture);
        var total = SumMeter(meter, customer, start, end);
        return List([new JsonObject
        {
            ["id"] = NewId("mtrusg"), ["object"] = "billing.meter_event_summary", ["aggregated_value"] = total, ["start_time"] = start, ["end_time"] = end,
            ["meter"] = (string)meter["id"]!, ["livemode"] = false,
        }], $"/v1/billing/meters/{meter["id"]}/event_summaries");
    }

    private double SumMeter(JsonObject meter, string customer, long start, long end)
    {
        var customerKey = (string?)meter["customer_mapping"]?["event_payload_key"] ?? "stripe_customer_id";
        var valueKey = (string?)meter["value_settings"]?["event_payload_key"] ?? "value";
        var formula = (string?)meter["default_aggregation"]?["formula"] ?? "sum";
        var matching = meterEvents.Where(e => (string?)e["event_name"] == (string?)meter["event_name"] && (string?)e["payload"]?[customerKey] == customer
            && (long)e["timestamp"]! >= start && (long)e["timestamp"]! < end).ToList();
        return formula == "count" ? matching.Count
            : matching.Sum(e => double.Parse((string?)e["payload"]?[valueKey] ?? "1", CultureInfo.InvariantCulture));
    }

    /// <summary>Amount in cents a customer's open period costs so far, per line (licensed + metered).</summary>
    private List<(string Description, long Amount, string PriceId, double Quantity)> Lines(JsonObject sub)
    {
        var lines = new List<(string, long, string, double)>();
        var customer = (string)sub["customer"]!;
        foreach (var item in sub["items"]!["data"]!.AsArray())
        {
            var price = item!["price"]!.AsObject();
            var periodStart = (long)item["current_period_start"]!;
            var periodEnd = (long)item["current_period_end"]!;
            var unit = decimal.Parse((string?)price["unit_amount_decimal"] ?? "0", CultureInfo.InvariantCulture);
            if ((string?)price["recurring"]?["usage_type"] == "metered")
            {
                var meter = objects[(string)price["recurring"]!["meter"]!];
                var quantity = SumMeter(meter, customer, periodStart, periodEnd);
                if (price["transform_quantity"] is JsonObject transform)
                {
                    var divided = quantity / (long)transform["divide_by"]!;
                    quantity = (string?)transform["round"] == "down" ? Math.Floor(divided) : Math.Ceiling(divided);
                }
                lines.Add(($"{meter["display_name"]} × {quantity}", (long)Math.Round(unit * (decimal)quantity), (string)price["id"]!, quantity));
            }
            else
            {
                lines.Add(((string?)objects[(string)price["product"]!]["name"] ?? "Plan", (long)unit, (string)price["id"]!, 1));
            }
        }
        return lines;
    }

    private JsonObject CreditBalance(string customerId)
    {
        Find(customerId, "customer");
        var granted = objects.Values.Where(o => (string?)o["object"] == "billing.credit_grant" && (string?)o["customer"] == customerId)
            .Sum(o => (long)o["amount"]!["monetary"]!["value"]!);
        var currency = objects.Values.Where(o => (string?)o["object"] == "billing.credit_grant" && (string?)o["customer"] == customerId)
            .Select(o => (string?)o["amount"]!["monetary"]!["currency"]).FirstOrDefault() ?? "usd";
        var used = objects.Values.Where(o => (string?)o["object"] == "subscription" && (string?)o["customer"] == customerId && (string?)o["status"] != "canceled")
            .Sum(s => Lines(s).Where(l => ((string?)objects[l.PriceId]["recurring"]?["usage_type"]) == "metered").Sum(l => l.Amount));
        var available = Math.Max(0, granted - used);
        JsonObject Money(long v) => new() { ["type"] = "monetary", ["monetary"] = new JsonObject { ["currency"] = currency, ["value"] = v } };
        return new JsonObject
        {
            ["object"] = "billing.credit_balance_summary", ["customer"] = customerId, ["livemode"] = false,
            ["balances"] = new JsonArray(new JsonObject { ["available_balance"] = Money(available), ["ledger_balance"] = Money(available) }),
        };
    }

    private JsonObject Preview(string customerId)
    {
        Find(customerId, "customer");
        var sub = objects.Values.FirstOrDefault(o => (string?)o["object"] == "subscription" && (string?)o["customer"] == customerId && (string?)o["status"] != "canceled")
            ?? throw Invalid("No upcoming invoices for customer: " + customerId, "customer", "invoice_upcoming_none");
        var lines = Lines(sub);
        var subtotal = lines.Sum(l => l.Amount);
        var item = sub["items"]!["data"]![0]!;
        return new JsonObject
        {
            ["id"] = "upcoming_in_" + sub["id"], ["object"] = "invoice", ["customer"] = customerId, ["status"] = "draft",
            ["currency"] = (string?)objects[lines[0].PriceId]["currency"] ?? "usd", ["subtotal"] = subtotal, ["total"] = subtotal, ["amount_due"] = subtotal,
            ["period_start"] = (long)item["current_period_start"]!, ["period_end"] = (long)item["current_period_end"]!, ["created"] = Now, ["livemode"] = false,
            ["lines"] = List(lines.Select(l => new JsonObject
            {
                ["object"] = "line_item", ["description"] = l.Description, ["amount"] = l.Amount, ["quantity"] = l.Quantity,
                ["pricing"] = new JsonObject { ["price_details"] = new JsonObject { ["price"] = l.PriceId } },
            }), "/v1/invoices/upcoming/lines"),
        };
    }

    private JsonObject CreateCheckout(Dictionary<string, string> form)
    {
        if (Required(form, "mode") != "subscription")
        {
            throw Invalid("The fake supports mode=subscription only.", "mode");
        }
        var items = new JsonArray();
        for (var i = 0; form.ContainsKey($"line_items[{i}][price]"); i++)
        {
            var price = Find(form[$"line_items[{i}][price]"], "price");
            var metered = (string?)price["recurring"]?["usage_type"] == "metered";
            if (metered && form.ContainsKey($"line_items[{i}][quantity]"))
            {
                throw Invalid("Quantity should not be specified where usage_type is `metered`.", $"line_items[{i}][quantity]");
            }
            items.Add(new JsonObject { ["price"] = (string)price["id"]!, ["quantity"] = metered ? null : int.Parse(Opt(form, $"line_items[{i}][quantity]") ?? "1", CultureInfo.InvariantCulture) });
        }
        if (items.Count == 0)
        {
            throw Invalid("Missing required param: line_items.", "line_items", "parameter_missing");
        }
        var customer = Opt(form, "customer");
        if (customer is not null)
        {
            Find(customer, "customer");
        }
        var id = NewId("cs");
        return new JsonObject
        {
            ["id"] = id, ["object"] = "checkout.session", ["mode"] = "subscription", ["status"] = "open", ["payment_status"] = "unpaid",
            ["customer"] = customer, ["customer_email"] = Opt(form, "customer_email"), ["client_reference_id"] = Opt(form, "client_reference_id"),
            ["success_url"] = Opt(form, "success_url"), ["cancel_url"] = Opt(form, "cancel_url"), ["subscription"] = null,
            ["url"] = $"{BaseUrl}/checkout/{id}", ["created"] = Now, ["expires_at"] = Now + 86400, ["livemode"] = false,
            ["metadata"] = Sub(form, "metadata"), ["line_items_requested"] = items,
            ["trial_period_days"] = Opt(form, "subscription_data[trial_period_days]") is { } d ? int.Parse(d, CultureInfo.InvariantCulture) : null,
            ["subscription_metadata"] = Sub(form, "subscription_data[metadata]"),
        };
    }
}
