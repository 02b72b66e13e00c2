using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Switchboard.Simulators;

/// <summary>One scripted answer of <see cref="ChatModelSimulator"/>: streamed text, tool calls, or an error status.</summary>
internal abstract record SimChatReply
{
    /// <summary>Text streamed in the given pieces, then <c>finish_reason: "stop"</c>.</summary>
    public sealed record Text(params string[] Pieces) : SimChatReply;

    /// <summary>Tool calls (name, arguments JSON), each streamed as an opening fragment and arguments in three pieces, then <c>finish_reason: "tool_calls"</c>.</summary>
    public sealed record ToolCalls(params (string Name, string Arguments)[] Calls) : SimChatReply;

    /// <summary>An error answer (<c>{"error":{…}}</c>) with this HTTP status, e.g. 500 or 429 <c>insufficient_quota</c>.</summary>
    public sealed record Error(int Status, string Code = "server_error") : SimChatReply;

    /// <summary>Streams <paramref name="Pieces"/>, then breaks the connection before <c>[DONE]</c>.</summary>
    public sealed record Broken(params string[] Pieces) : SimChatReply;

    /// <summary>Streams the first of <paramref name="Pieces"/>, waits for <paramref name="Release"/>, then streams the rest and stops: a slow answer.</summary>
    public sealed record Gated(Task Release, params string[] Pieces) : SimChatReply;
}

/// <summary>
/// An OpenAI-compatible Chat Completions server on 127.0.0.1 (<c>POST /v1/chat/completions</c>, streamed SSE chunks with
/// tool-call deltas exactly as brain-and-knowledge-base.md §1.3 shows, and the error body of §1.4). Answers come from
/// <see cref="Script"/> in order; with an empty script it plays a receptionist: a message with emergency words gets a
/// <c>capture_lead</c> call (problem, phone found in the text, urgency), a tool result gets a short confirmation, anything
/// else a greeting, in French or English like the visitor. Every request body is kept in <see cref="Requests"/>.
/// </summary>
internal sealed class ChatModelSimulator : IAsyncDisposable
{
    /// <summary>Port of <c>switchboard simulate-chat --model</c>.</summary>
    public const int DefaultPort = 8092;

    private readonly WebApplication app;
    private int ids;

    private ChatModelSimulator(WebApplication app) => this.app = app;

    /// <summary>Base URL including <c>/v1</c>, e.g. <c>http://127.0.0.1:41234/v1</c>.</summary>
    public string BaseUrl { get; private set; } = "";

    public ConcurrentQueue<SimChatReply> Script { get; } = new();
    public ConcurrentQueue<JsonObject> Requests { get; } = new();
    public ConcurrentQueue<string> Authorizations { get; } = new();

    public static async Task<ChatModelSimulator> StartAsync(int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var sim = new ChatModelSimulator(app);
        app.MapPost("/v1/chat/completions", sim.CompleteAsync);
        await app.StartAsync();
        sim.BaseUrl = app.Urls.First().TrimEnd('/') + "/v1";
        return sim;
    }

    private async Task CompleteAsync(HttpContext http)
    {
        var request = (await JsonNode.ParseAsync(http.Request.Body))!.AsObject();
        Requests.Enqueue(request);
        Authorizations.Enqueue(http.Request.Headers.Authorization.ToString());
        var reply = Script.TryDequeue(out var scripted) ? scripted : Receptionist(request);
        if (reply is SimChatReply.Error error)
        {
            http.Response.StatusCode = error.Status;
            await http.Response.WriteAsJsonAsync(new { error = new { message = "simulated failure", type = error.Code, param = (string?)null, code = error.Code } });
            return;
        }
        var id = $"chatcmpl-sim{Interlocked.Increment(ref ids)}";
        var model = request["model"]?.GetValue<string>() ?? "sim";
        http.Response.ContentType = "text/event-stream";
        async Task Send(object choiceDelta, string? finish)
        {
            var chunk = new JsonObject
            {
                ["id"] = id,
                ["object"] = "chat.completion.chunk",
                ["created"] = 1767225600,
                ["model"] = model,
                ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = JsonSerializer.SerializeToNode(choiceDelta), ["finish_reason"] = finish }),
            };
            await http.Response.WriteAsync($"data: {chunk.ToJsonString()}\n\n");
            await http.Response.Body.FlushAsync();
        }
        switch (reply)
        {
            case SimChatReply.Text text:
                await Send(new { role = "assistant", content = "" }, null);
                foreach (var piece in text.Pieces)
                {
                    await Send(new { content = piece }, null);
                }
                await Send(new { }, "stop");
                break;
            case SimChatReply.Gated gated:
                await Send(new { role = "assistant", content = "" }, null);
                for (var i = 0; i < gated.Pieces.Length; i++)
                {
                    if (i == 1)
                    {
                        await gated.Release.WaitAsync(http.RequestAborted);
                    }
                    await Send(new { content = gated.Pieces[i] }, null);
                }
                await Send(new { }, "stop");
                break;
            case SimChatReply.Broken broken:
                await Send(new { role = "assistant", content = "" }, null);
                foreach (var piece in broken.Pieces)
                {
                    await Send(new { content = piece }, null);
                }
                http.Abort();
                return;
            case SimChatReply.ToolCalls calls:
                for (var i = 0; i < calls.Calls.Length; i++)
                {
                    var (name, arguments) = calls.Calls[i];
                    var callId = $"call_{id}_{i}";
                    await Send(new { role = "assistant", content = (string?)null, tool_calls = new[] { new { index = i, id = callId, type = "function", function = new { name, arguments = "" } } } }, null);
                    var third = Math.Max(1, arguments.Length / 3);
                    for (var at = 0; at < arguments.Length; at += third)
                    {
                        var piece = arguments.Substring(at, Math.Min(third, arguments.Length - at));
                        await Send(new { tool_calls = new[] { new { index = i, function = new { arguments = piece } } } }, null);
                    }
                }
                await Send(new { }, "tool_calls");
                break;
        }
        var usage = new JsonObject
        {
            ["id"] = id,
            ["object"] = "chat.completion.chunk",
            ["created"] = 1767225600,
            ["model"] = model,
            ["choices"] = new JsonArray(),
            ["usage"] = new JsonObject { ["prompt_tokens"] = 50, ["completion_tokens"] = 10, ["total_tokens"] = 60 },
        };
        await http.Response.WriteAsync($"data: {usage.ToJsonString()}\n\ndata: [DONE]\n\n");
    }

    private static SimChatReply Receptionist(JsonObject request)
    {
        var messages = request["messages"]!.AsArray();
        var last = messages[^1]!.AsObject();
        var lastUser = messages.LastOrDefault(m => m?["role"]?.GetValue<string>() == "user")?["content"];
        var userText = lastUser is JsonValue v ? v.GetValue<string>() : lastUser?.ToJsonString() ?? "";
        var fr = Brain.OfflineReceptionist.IsFrench(userText) ?? true;
        if (last["role"]?.GetValue<string>() == "tool")
        {
            return new SimChatReply.Text(fr ? "C'est noté. " : "Noted. ", fr ? "Le technicien de garde est prévenu " : "The on-call technician has been told ",
                fr ? "et vous rappelle très vite." : "and will call you back shortly.");
        }
        var folded = Brain.OfflineReceptionist.Fold(userText);
        if (new[] { "inond", "flood", "refoulement", "burst", "eclate", "degat d'eau" }.Any(folded.Contains))
        {
            var args = new JsonObject { ["problem"] = userText, ["urgency"] = "emergency", ["need"] = fr ? "urgence plomberie" : "emergency plumbing", ["timeline"] = "now" };
            if (Brain.OfflineReceptionist.FindPhone(userText) is { } phone)
            {
                args["phone"] = phone;
            }
            return new SimChatReply.ToolCalls((Brain.ToolRegistry.CaptureLead, args.ToJsonString()));
        }
        return new SimChatReply.Text(fr ? "Bonjour! " : "Hello! ", fr ? "Comment puis-je " : "How can I ", fr ? "vous aider?" : "help?");
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
