using Switchboard.Brain;
using Switchboard.Credentials;
using Switchboard.Knowledge;
using Switchboard.Platform.Net;

namespace Switchboard.Widget;

/// <summary>Registers this feature's services (called once from Program.cs).</summary>
internal static class WebChatRegistration
{
    /// <summary>The web chat: the brain (a chat model over Microsoft.Extensions.AI, or the offline receptionist), the widget's tokens, idle chats closed, knowledge retrieval for the offline receptionist; then the knowledge base (ingestion, FTS retrieval, optional embeddings).</summary>
    public static WebApplicationBuilder AddWebChat(this WebApplicationBuilder builder)
    {
        // Web chat: the brain (chat model over Microsoft.Extensions.AI, offline receptionist), the widget's public endpoints, idle chats closed.
        builder.Services.AddOptions<BrainOptions>().BindConfiguration(BrainOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<WidgetOptions>().BindConfiguration(WidgetOptions.Section).ValidateDataAnnotations().ValidateOnStart()
            .PostConfigure(o => { o.AllowLocalHttpOrigins |= builder.Environment.IsDevelopment(); o.DemoPage |= builder.Environment.IsDevelopment(); });
        builder.Services.AddHttpClient(ModelBrain.HttpClientName);  // the operator's configured model host
        builder.Services.AddHttpClient(ModelBrain.TenantHttpClientName) // a tenant's own OpenAI-compatible base URL: the same connect-time SSRF guard
            .ConfigurePrimaryHttpMessageHandler(sp => OutboundPolicy.CreateHandler(
                () => sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<CredentialOptions>>().Value.AllowPrivateBaseUrls, TimeSpan.FromSeconds(10)));
        builder.Services.AddSingleton<ModelBrain>();
        builder.Services.AddSingleton<WidgetTokens>();
        builder.Services.AddSingleton<WebConversationCloser>();
        builder.Services.AddHostedService<WebConversationCloserWorker>();
        builder.Services.AddScoped<WebChatService>();
        builder.Services.AddScoped<IKnowledgeLookup, KnowledgeBaseLookup>();     // retrieval for the offline receptionist
        // Knowledge base: ingestion (text, Markdown, HTML, PDF, URL through the SSRF guard), FTS retrieval, optional embeddings.
        builder.Services.AddKnowledge();
        return builder;
    }
}
