using System.Globalization;
using Switchboard.Simulators;

namespace Switchboard.Platform.Cli;

/// <summary>
/// <c>switchboard simulate-stripe [--port 12111]</c>: runs <see cref="StripeSimulator"/> on 127.0.0.1 until Ctrl+C, for
/// trying Stripe billing without a Stripe account. Point a server at it with <c>Switchboard__Stripe__SecretKey=sk_test_local</c>
/// and <c>Switchboard__Stripe__ApiBase=http://127.0.0.1:12111</c>, run <c>switchboard stripe-setup</c> (it creates the
/// catalog and the webhook endpoint in the fake, which then signs and delivers events to the server), and upgrade from
/// the dashboard: the fake's Checkout page has a Pay button, its portal a Cancel button. Exit codes: 0 stopped, 2 usage.
/// </summary>
internal static class SimulateStripeCommand
{
    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var port = StripeSimulator.DefaultPort;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--port" && i + 1 < args.Length && int.TryParse(args[++i], NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is > 0 and < 65536)
            {
                port = p;
            }
            else
            {
                Console.Error.WriteLine("Usage: switchboard simulate-stripe [--port 12111]");
                return 2;
            }
        }
        await using var stripe = await StripeSimulator.StartAsync(port);
        Console.WriteLine($"Fake Stripe on {stripe.BaseUrl} (state in memory). Serve with:");
        Console.WriteLine($"  Switchboard__Stripe__SecretKey=sk_test_local Switchboard__Stripe__ApiBase={stripe.BaseUrl}");
        Console.WriteLine("then run `switchboard stripe-setup` with the same settings. Ctrl+C stops.");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C
        }
        return 0;
    }
}
