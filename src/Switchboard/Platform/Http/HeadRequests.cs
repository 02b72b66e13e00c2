namespace Switchboard.Platform.Http;

/// <summary>
/// Answers <c>HEAD</c> wherever <c>GET</c> is answered (RFC 9110 §9.3.2: the same status and headers as a <c>GET</c>, no
/// content): load balancers and uptime checks probe <c>/healthz</c>, <c>/readyz</c> and pages with <c>HEAD</c>, and minimal-API
/// routes mapped with <c>MapGet</c> match <c>GET</c> only (a <c>HEAD</c> fell through to a 404). Runs before routing: the request is
/// routed and handled as a <c>GET</c>, whatever it writes goes to <see cref="Stream.Null"/> (headers, <c>Content-Length</c> included,
/// are kept), and its method is set back to <c>HEAD</c> as the response starts, so the server sends no body either.
/// </summary>
internal sealed class HeadRequestsMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext http)
    {
        if (!HttpMethods.IsHead(http.Request.Method))
        {
            return next(http);
        }
        http.Request.Method = HttpMethods.Get;
        http.Response.Body = Stream.Null;
        http.Response.OnStarting(static state =>
        {
            ((HttpContext)state).Request.Method = HttpMethods.Head;
            return Task.CompletedTask;
        }, http);
        return next(http);
    }
}
