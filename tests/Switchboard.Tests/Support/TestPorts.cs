using System.Net;
using System.Net.Sockets;

namespace Switchboard.Tests.Support;

/// <summary>Loopback ports for test hosts that listen on a port of their own.</summary>
internal static class TestPorts
{
    /// <summary>
    /// A free port below Linux's ephemeral range (<c>net.ipv4.ip_local_port_range</c>, 32768–60999 by default), for a host
    /// that binds the same port again after a restart: a port from the ephemeral range (what binding port 0 gives) can be
    /// taken between a stop and the next start by another test's outgoing connection (CI: "address already in use" on
    /// restart). Tries up to 100 random ports in 20000–31999; throws the last <see cref="SocketException"/> past that.
    /// </summary>
    public static int BelowEphemeralRange()
    {
        for (var attempt = 0; ; attempt++)
        {
            var candidate = Random.Shared.Next(20_000, 32_000);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, candidate);
                listener.Start();
                return candidate;
            }
            catch (SocketException) when (attempt < 100)
            {
                // taken: another one
            }
        }
    }
}
