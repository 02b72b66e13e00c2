using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using OpenAI;

namespace Switchboard.Brain;

/// <summary>Where a tenant's chat model lives: an OpenAI-compatible base URL (with <c>/v1</c>), its key and the model name.</summary>
internal sealed record ChatModelTarget(string BaseUrl, string ApiKey, string Model);

/// <summary>
/// The model side of the brain: an OpenAI-compatible chat model through <c>Microsoft.Extensions.AI</c>
/// (<see cref="IChatClient"/> with <see cref="FunctionInvokingChatClient"/>), streamed (brain-and-knowledge-base.md §1–§2).
/// Tool calls arrive as deltas that the adapter assembles; each runs through <see cref="RegistryTool"/>, which reports
/// what it did on a side queue the caller drains between updates.
/// </summary>
internal sealed class ModelBrain(IHttpClientFactory httpClients, IOptions<BrainOptions> options, ILoggerFactory logs)
{
    public const string HttpClientName = "brain";

    /// <summary>The client for a tenant's own base URL: connects through <c>OutboundPolicy</c>'s connect-time address check, no redirects.</summary>
    public const string TenantHttpClientName = "brain-tenant";

    /// <summary>True when <paramref name="baseUrl"/> is on the operator's configured host (<see cref="BrainOptions.BaseUrl"/>), not tenant-supplied.</summary>
    private bool IsOperatorHost(string baseUrl) =>
        Uri.TryCreate(options.Value.BaseUrl, UriKind.Absolute, out var configured) && Uri.TryCreate(baseUrl, UriKind.Absolute, out var target)
        && string.Equals(configured.IdnHost, target.IdnHost, StringComparison.OrdinalIgnoreCase) && configured.Port == target.Port && configured.Scheme == target.Scheme;

    /// <summary>Streams the model's answer to <paramref name="history"/> with <paramref name="tools"/>; tool side events go to <paramref name="side"/>.</summary>
    /// <exception cref="ClientResultException">The model answered an error status (after the client's own retries).</exception>
    public async IAsyncEnumerable<BrainEvent> ReplyAsync(
        ChatModelTarget target, IList<ChatMessage> history, IReadOnlyList<AITool> tools, ConcurrentQueue<BrainEvent> side,
        [EnumeratorCancellation] CancellationToken ct)
    {
        var o = options.Value;
        var clientOptions = new OpenAIClientOptions
        {
            Endpoint = new Uri(target.BaseUrl.TrimEnd('/')),
            Transport = new HttpClientPipelineTransport(httpClients.CreateClient(IsOperatorHost(target.BaseUrl) ? HttpClientName : TenantHttpClientName)),
            NetworkTimeout = TimeSpan.FromSeconds(o.TimeoutSeconds),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 1),
        };
        using var chat = new OpenAI.Chat.ChatClient(target.Model, new ApiKeyCredential(target.ApiKey), clientOptions)
            .AsIChatClient()
            .AsBuilder()
            .UseFunctionInvocation(logs, f =>
            {
                f.MaximumIterationsPerRequest = o.MaxToolRounds;
                f.AllowConcurrentInvocation = false;
            })
            .Build();
        var chatOptions = new ChatOptions { Tools = [.. tools], MaxOutputTokens = o.MaxOutputTokens, ToolMode = ChatToolMode.Auto };
        await foreach (var update in chat.GetStreamingResponseAsync(history, chatOptions, ct))
        {
            while (side.TryDequeue(out var e))
            {
                yield return e;
            }
            foreach (var content in update.Contents)
            {
                if (content is TextContent { Text: { Length: > 0 } text })
                {
                    yield return new TextDelta(text);
                }
            }
        }
        while (side.TryDequeue(out var e))
        {
            yield return e;
        }
    }
}

/// <summary>A tool of the shared <see cref="ToolRegistry"/> exposed to the model with its JSON-schema definition.</summary>
internal sealed class RegistryTool(string name, string description, JsonElement schema, Func<string, JsonElement, CancellationToken, Task<string>> invoke)
    : AIFunction
{
    public override string Name => name;
    public override string Description => description;
    public override JsonElement JsonSchema => schema;

    protected override async ValueTask<object?> InvokeCoreAsync(AIFunctionArguments arguments, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.SerializeToElement(arguments.ToDictionary(p => p.Key, p => p.Value), AIJsonUtilities.DefaultOptions);
        return await invoke(name, json, cancellationToken);
    }

    /// <summary>
    /// The registry's tools a web chat may use (all but <c>end_call</c> and <c>send_sms</c>), described for the business
    /// (<paramref name="wording"/>), each calling <paramref name="invoke"/>. A web visitor's number is only what they typed, so
    /// a text to it would let anyone make the business send words of their choosing (a prompt injection such as "send an SMS
    /// to +1 900… saying …") to any number: a call's number is the caller id, a chat's is not.
    /// </summary>
    public static IReadOnlyList<AITool> All(Func<string, JsonElement, CancellationToken, Task<string>> invoke, BusinessWording? wording = null) =>
        ToolRegistry.Definitions(wording)
            .Select(d => d!.AsObject())
            .Where(d => d["name"]!.GetValue<string>() is not (ToolRegistry.EndCall or ToolRegistry.SendSms))
            .Select(d => (AITool)new RegistryTool(
                d["name"]!.GetValue<string>(),
                d["description"]?.GetValue<string>() ?? "",
                JsonSerializer.SerializeToElement(d["parameters"]),
                invoke))
            .ToList();
}
