using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Switchboard.Simulators;

namespace Switchboard.Platform.Cli;

/// <summary>
/// <c>switchboard simulate-chat --key pk_live_… [--url http://localhost:8080] [--origin O] (--script file.json | --message "…")</c>:
/// plays a website visitor against a running server through the widget's public endpoints (start a conversation with the
/// script's page URL for attribution, then each message, printing the streamed reply and lead events as they arrive).
/// The origin defaults to the server's own (always allowed). <c>switchboard simulate-chat --serve-model [--port 8092]</c>
/// instead runs the OpenAI-compatible chat simulator on 127.0.0.1 until Ctrl+C: store its base URL as a tenant's
/// <c>openai</c> credential (<c>PUT /api/v1/credentials/openai</c>) to chat through the model path with tool calls.
/// Exit code 0 when every message got a <c>done</c> event.
/// </summary>
internal static class SimulateChatCommand
{
    /// <summary>Parsed options (<see cref="SwitchboardCli"/>).</summary>
    internal sealed record Options(string? Key, string Url, string? Origin, string? ScriptPath, string? Message, bool ServeModel, int Port);

    public static async Task<int> RunAsync(Options options, CancellationToken ct)
    {
        var (key, url, origin, scriptPath, message, serveModel, port) = options;
        url = url.TrimEnd('/');
        if (serveModel)
        {
            await using var sim = await ChatModelSimulator.StartAsync(port);
            Console.WriteLine($"Chat model simulator on {sim.BaseUrl} (any API key). Store it as a tenant's credential:");
            Console.WriteLine($"  curl -X PUT -H 'Authorization: Bearer sk_…' -H 'Content-Type: application/json' -d '{{\"apiKey\":\"sim\",\"baseUrl\":\"{sim.BaseUrl}\"}}' {url}/api/v1/credentials/openai");
            Console.WriteLine("Ctrl+C stops it.");
            var stop = new TaskCompletionSource();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.TrySetResult(); };
            await stop.Task;
            return 0;
        }
        if (key is null || (scriptPath is null && message is null))
        {
            Console.Error.WriteLine("usage: switchboard simulate-chat --key pk_live_… [--url http://localhost:8080] [--origin O] (--script file.json | --message \"…\")");
            Console.Error.WriteLine("       switchboard simulate-chat --serve-model [--port 8092]");
            return 2;
        }
        var script = scriptPath is null ? new JsonObject { ["messages"] = new JsonArray(message) } : JsonNode.Parse(await File.ReadAllTextAsync(scriptPath, ct))!.AsObject();
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Add("Origin", origin ?? new Uri(url).GetLeftPart(UriPartial.Authority));
        var q = "?key=" + Uri.EscapeDataString(key);
        var start = await http.PostAsJsonAsync("/widget/v1/conversations" + q, new
        {
            visitorId = "cli-" + Guid.NewGuid().ToString("N")[..12],
            language = script["language"]?.GetValue<string>() ?? "fr",
            pageUrl = script["pageUrl"]?.GetValue<string>(),
            referrer = (string?)null,
        }, ct);
        var started = await start.Content.ReadAsStringAsync(ct);
        if (!start.IsSuccessStatusCode)
        {
            Console.Error.WriteLine($"start: {(int)start.StatusCode} {started}");
            return 1;
        }
        var conversation = JsonNode.Parse(started)!;
        var id = conversation["id"]!.GetValue<string>();
        var token = conversation["token"]!.GetValue<string>();
        Console.WriteLine($"conversation {id}");
        foreach (var text in script["messages"]!.AsArray().Select(m => m!.GetValue<string>()))
        {
            Console.WriteLine($"visitor  > {text}");
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/widget/v1/conversations/{id}/messages{q}")
            {
                Content = JsonContent.Create(new { text }),
            };
            request.Headers.Authorization = new("Bearer", token);
            request.Headers.Accept.ParseAdd("text/event-stream");
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            if (!response.IsSuccessStatusCode)
            {
                Console.Error.WriteLine($"message: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
                return 1;
            }
            Console.Write("assistant< ");
            var done = false;
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct), Encoding.UTF8);
            string? type = null;
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    type = line[7..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    var data = JsonNode.Parse(line[6..]);
                    switch (type)
                    {
                        case "delta": Console.Write(data?["text"]?.GetValue<string>()); break;
                        case "lead": Console.Write($" [lead: {data?["urgency"]}{(data?["staffAlerted"]?.GetValue<bool>() == true ? ", staff texted" : "")}] "); break;
                        case "tool": Console.Write($" [tool {data?["name"]}] "); break;
                        case "error": Console.Write($" [error {data?["code"]}] "); break;
                        case "done": done = true; break;
                    }
                }
            }
            Console.WriteLine();
            if (!done)
            {
                return 1;
            }
        }
        return 0;
    }
}
