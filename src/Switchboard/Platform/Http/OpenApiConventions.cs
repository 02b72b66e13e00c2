using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Switchboard.Tenancy;

namespace Switchboard.Platform.Http;

/// <summary>
/// Completes the OpenAPI document: declares the dashboard's session cookie next to the secret key, and gives every
/// operation its authentication (secret key or session), the error responses every endpoint can answer in the
/// envelope (401 and 403 when authenticated, 429 with <c>Retry-After</c> on <c>/api/v1</c>, 413 with the limit and 422 for an
/// <c>/api/v1</c> body (<see cref="RequestBodyLimit"/>), 500), the
/// <c>X-CSRF-Token</c> header that cookie-authenticated changes need, and the <c>Idempotency-Key</c> header of tenant-scoped
/// POSTs (<see cref="IdempotencyMiddleware"/>, with its 400 and 409).
/// </summary>
internal sealed class OpenApiConventions : IOpenApiDocumentTransformer, IOpenApiOperationTransformer
{
    public const string SecretKeyScheme = "secretKey";
    public const string SessionScheme = "session";
    public const string VapiSecretScheme = "vapiWebhookSecret";

    public async Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        if (!document.Components.Schemas.ContainsKey(nameof(ErrorEnvelope)))
        {
            document.Components.Schemas[nameof(ErrorEnvelope)] = await context.GetOrCreateSchemaAsync(typeof(ErrorEnvelope), null, cancellationToken);
        }
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[SessionScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Cookie,
            Name = SessionAuthentication.CookieName,
            Description = "The dashboard's session cookie, set by POST /api/v1/auth/login or /signup (HttpOnly, Secure, SameSite=Lax). " +
                          $"POST, PUT, PATCH and DELETE with it need the {SessionAuthentication.CsrfHeader} header (the sb_csrf cookie's value).",
        };
        document.Components.SecuritySchemes[VapiSecretScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = "x-vapi-secret",
            Description = "The tenant's Vapi webhook secret (Switchboard sets it in the assistant's and number's server.headers). " +
                          "Also accepted: an HMAC-SHA256 of the body in x-vapi-signature, or Authorization: Bearer <secret>.",
        };
    }

    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        var path = "/" + context.Description.RelativePath;
        var method = context.Description.HttpMethod ?? "GET";
        var authorized = !metadata.OfType<IAllowAnonymous>().Any() && metadata.OfType<IAuthorizeData>().Any();
        operation.OperationId ??= OperationId(method, path);
        // A reference: the document transformer makes sure the component exists.
        IOpenApiSchema error = new OpenApiSchemaReference(nameof(ErrorEnvelope), context.Document);
        operation.Responses ??= new OpenApiResponses();
        foreach (var (status, response) in operation.Responses)
        {
            if (response is OpenApiResponse r && Described.TryGetValue(status, out var text) && r.Description == Reason(status))
            {
                r.Description = text;
            }
        }

        if (authorized)
        {
            operation.Security =
            [
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SecretKeyScheme, context.Document)] = [] },
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SessionScheme, context.Document)] = [] },
            ];
            Add(operation, "401", "Not authenticated (UNAUTHENTICATED): a secret key or a session is required.", error);
            Add(operation, "403", "Forbidden: INSUFFICIENT_ROLE, NO_TENANT, FEATURE_NOT_IN_PLAN, CSRF_TOKEN_INVALID or TENANT_SUSPENDED.", error);
            if (Who(metadata) is { } who && operation.Responses.TryGetValue("403", out var forbidden) && forbidden is OpenApiResponse f)
            {
                f.Description = Described["403"] + " " + who;
            }
            if (!HttpMethods.IsGet(method) && path.StartsWith("/api/v1", StringComparison.Ordinal))
            {
                operation.Parameters ??= [];
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = SessionAuthentication.CsrfHeader,
                    In = ParameterLocation.Header,
                    Required = false,
                    Description = "Required with a session cookie (the sb_csrf cookie's value, also returned at sign-in); not used with a secret key.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                });
            }
        }
        // WidgetAccessMiddleware limits every /widget/v1 request (per key and per site), not only the ones that write.
        if (path.StartsWith("/api/v1", StringComparison.Ordinal) || path.StartsWith("/webhooks", StringComparison.Ordinal)
            || path.StartsWith("/widget/v1", StringComparison.Ordinal))
        {
            Add(operation, "429", "Rate limited (RATE_LIMITED, or ACCOUNT_LOCKED at sign-in): retry after Retry-After seconds.", error);
            if (operation.Responses.TryGetValue("429", out var limited) && limited is OpenApiResponse response)
            {
                response.Headers ??= new Dictionary<string, IOpenApiHeader>();
                response.Headers["Retry-After"] = new OpenApiHeader { Description = "Seconds to wait.", Schema = new OpenApiSchema { Type = JsonSchemaType.Integer } };
            }
        }
        if (path.Contains('{', StringComparison.Ordinal))
        {
            Add(operation, "404", Described["404"], error);
        }
        // A query value that does not parse as its parameter's type (pageSize=abc, from=yesterday, a malformed uuid) is a 400
        // from parameter binding before the handler runs; only strings always bind.
        if (context.Description.ParameterDescriptions.Any(p => p.Source == Microsoft.AspNetCore.Mvc.ModelBinding.BindingSource.Query
                && (Nullable.GetUnderlyingType(p.Type) ?? p.Type) != typeof(string)))
        {
            Add(operation, "400", "Malformed request (BAD_REQUEST): a query parameter does not parse as its type.", error);
        }
        if (context.Description.ParameterDescriptions.Any(p => p.Source == Microsoft.AspNetCore.Mvc.ModelBinding.BindingSource.Body))
        {
            Add(operation, "400", Described["400"], error);
            // Request delegates only read a body declared as JSON; any other Content-Type is refused before the handler.
            Add(operation, "415", Described["415"], error);
            if (path.StartsWith("/api/v1", StringComparison.Ordinal))
            {
                // StorableTextGuardMiddleware: every /api/v1 body, before its endpoint reads it.
                Add(operation, "422", Described["422"], error);
            }
        }
        if (operation.RequestBody is not null && path.StartsWith("/api/v1", StringComparison.Ordinal))
        {
            // RequestBodyLimitMiddleware: every /api/v1 body, before anything reads it.
            var limit = metadata.OfType<Microsoft.AspNetCore.Http.Metadata.IRequestSizeLimitMetadata>().LastOrDefault()?.MaxRequestBodySize ?? RequestBodyLimit.Default;
            var tooLarge = $"Body too large (PAYLOAD_TOO_LARGE): at most {limit} bytes are read.";
            if (operation.Responses.TryGetValue("413", out var existing) && existing is OpenApiResponse r && r.Description == Described["413"])
            {
                r.Description = tooLarge;
            }
            else
            {
                AddOrExtend(operation, "413", tooLarge, error);
            }
        }
        if (path.StartsWith("/webhooks/vapi", StringComparison.Ordinal))
        {
            operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(VapiSecretScheme, context.Document)] = [] }];
        }
        if (authorized && HttpMethods.IsPost(method) && path.StartsWith("/api/v1/", StringComparison.Ordinal)
            && !path.StartsWith("/api/v1/auth/", StringComparison.Ordinal) && !path.StartsWith("/api/v1/operator/", StringComparison.Ordinal))
        {
            // IdempotencyMiddleware: every tenant-scoped POST.
            operation.Parameters ??= [];
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = IdempotencyMiddleware.Header,
                In = ParameterLocation.Header,
                Required = false,
                Description = "Makes a retry safe (Stripe's rules): the same key with the same request within 24 hours replays the first " +
                              "success (status, body, Location) with Idempotent-Replayed: true instead of running again. Keys are scoped to " +
                              "the tenant and the API key or user; 1 to 255 printable ASCII characters (a UUID). A refusal or failure is not " +
                              "kept: the key can be sent again with the corrected request.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = IdempotencyMiddleware.MaxKeyLength },
            });
            AddOrExtend(operation, "400", "Idempotency-Key invalid (IDEMPOTENCY_KEY_INVALID) or already used with another request (IDEMPOTENCY_KEY_REUSED).", error);
            AddOrExtend(operation, "409", "A request with the same Idempotency-Key is still running (IDEMPOTENCY_KEY_IN_USE): retry after Retry-After seconds.", error);
        }
        Add(operation, "500", "Unexpected error (INTERNAL_ERROR); no internals are revealed.", error);
    }

    /// <summary>
    /// An operationId for endpoints without a name (<c>WithName</c>): the method and the path's segments in camel case,
    /// <c>/api/v1</c> left out and <c>{id}</c> as <c>ById</c>: <c>GET /api/v1/webhooks/endpoints/{id}</c> is
    /// <c>getWebhooksEndpointsById</c>. Unique because method + path is.
    /// </summary>
    internal static string OperationId(string method, string path)
    {
        var id = new System.Text.StringBuilder(method.ToLowerInvariant());
        var trimmed = path.StartsWith("/api/v1/", StringComparison.Ordinal) ? path["/api/v1/".Length..] : path.TrimStart('/');
        foreach (var segment in trimmed.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var parameter = segment.StartsWith('{') ? segment.Trim('{', '}').Split(':')[0] : null;
            var name = parameter is { Length: > 0 } ? "By" + char.ToUpperInvariant(parameter[0]) + parameter[1..] : segment;
            foreach (var word in name.Split(['-', '.', '_'], StringSplitOptions.RemoveEmptyEntries))
            {
                id.Append(char.ToUpperInvariant(word[0])).Append(word.AsSpan(1));
            }
        }
        return id.ToString();
    }

    private static readonly Dictionary<string, string> Described = new()
    {
        ["400"] = "Malformed request (BAD_REQUEST, MALFORMED_JSON…).",
        ["401"] = "Not authenticated (UNAUTHENTICATED, INVALID_CREDENTIALS…).",
        ["403"] = "Forbidden: INSUFFICIENT_ROLE, NO_TENANT, FEATURE_NOT_IN_PLAN, CSRF_TOKEN_INVALID or TENANT_SUSPENDED.",
        ["404"] = "Not found (also for another tenant's resource).",
        ["409"] = "Conflict with the current state.",
        ["413"] = "Body too large (PAYLOAD_TOO_LARGE).",
        ["415"] = "Unsupported media type (UNSUPPORTED_MEDIA_TYPE): the body's Content-Type is not one this operation accepts (JSON unless its request body says otherwise).",
        ["422"] = "Invalid input: VALIDATION_FAILED with details {field: message} (also for text that cannot be stored: U+0000, a lone surrogate, invalid UTF-8), or a more specific code.",
        ["429"] = "Rate limited: retry after Retry-After seconds.",
    };

    /// <summary>
    /// Who may call an operation whose <c>perm:*</c> policy some callers lack (<see cref="Roles.Allows(string?, Permission, bool)"/>):
    /// e.g. <c>PUT /api/v1/plan</c> is for owners only, so a secret API key (admin permissions) gets 403 <c>INSUFFICIENT_ROLE</c>.
    /// Null when every role and a secret key may.
    /// </summary>
    private static string? Who(IList<object> metadata)
    {
        var permissions = metadata.OfType<IAuthorizeData>().Select(a => a.Policy)
            .Select(p => p is not null && p.StartsWith("perm:", StringComparison.Ordinal) && Enum.TryParse<Permission>(p["perm:".Length..], out var x) ? x : (Permission?)null)
            .OfType<Permission>().ToList();
        if (permissions.Count == 0)
        {
            return null;
        }
        var roles = Roles.All.Where(r => permissions.All(p => Roles.Allows(r, p))).ToList();
        var key = permissions.All(p => Roles.Allows(Roles.Admin, p, apiKey: true));
        if (roles.Count == Roles.All.Length && key)
        {
            return null;
        }
        return $"INSUFFICIENT_ROLE unless the caller is a signed-in {string.Join(" or ", roles)}" +
               (key ? ", or a secret API key." : ": a secret API key (which acts with admin permissions) is refused.");
    }

    private static string Reason(string status) =>
        int.TryParse(status, out var code) ? Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(code) : "";

    /// <summary>As <see cref="Add"/>; when the operation already answers <paramref name="status"/>, <paramref name="description"/> is appended to its description.</summary>
    private static void AddOrExtend(OpenApiOperation operation, string status, string description, IOpenApiSchema schema)
    {
        if (operation.Responses!.TryGetValue(status, out var existing) && existing is OpenApiResponse r
            && !string.IsNullOrEmpty(r.Description) && r.Description != Reason(status))
        {
            r.Description += " " + description;
            return;
        }
        Add(operation, status, description, schema);
    }

    private static void Add(OpenApiOperation operation, string status, string description, IOpenApiSchema schema)
    {
        if (operation.Responses!.TryGetValue(status, out var existing))
        {
            if (existing is OpenApiResponse r && (string.IsNullOrEmpty(r.Description) || r.Description == Reason(status)))
            {
                r.Description = description;
            }
            return;
        }
        operation.Responses[status] = new OpenApiResponse
        {
            Description = description,
            Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
        };
    }
}
