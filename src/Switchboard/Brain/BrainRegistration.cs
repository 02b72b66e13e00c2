using Switchboard.Alerts;
using Switchboard.Calls;

namespace Switchboard.Brain;

/// <summary>Registers this feature's services (called once from Program.cs).</summary>
internal static class BrainRegistration
{
    /// <summary>The shared tool registry, the alert policy, the SMS sender rule and the post-call pipeline (Vapi and native calls).</summary>
    public static WebApplicationBuilder AddBrainAndAlerts(this WebApplicationBuilder builder)
    {
        // Brain and alerts: the shared tool registry, the alert policy, the post-call pipeline (Vapi and native calls).
        builder.Services.AddScoped<ToolRegistry>();
        builder.Services.AddScoped<AlertService>();
        builder.Services.AddScoped<SmsSenderResolver>(); // one rule for every SMS sender: explicit sender, else an attached SMS-capable number
        builder.Services.AddScoped<PostCallPipeline>();
        return builder;
    }
}
