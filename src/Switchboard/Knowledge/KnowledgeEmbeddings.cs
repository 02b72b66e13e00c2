using System.Buffers.Binary;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Credentials;
using Switchboard.Platform.Database;

namespace Switchboard.Knowledge;

/// <summary>
/// Optional semantic layer (brain-and-knowledge-base.md §4.5): when the tenant has an OpenAI-compatible credential,
/// texts are embedded through its <c>POST {base}/embeddings</c> (<c>{"model","input":[…],"encoding_format":"float"}</c> →
/// <c>{"data":[{"index":0,"embedding":[…]}]}</c>; a base64 float32 string is accepted too). Vectors are stored unit-length as
/// little-endian float32 blobs, so cosine similarity is a dot product. Every failure (no credential, timeout, 4xx/5xx,
/// malformed answer) yields null: the knowledge base then works on keywords alone.
/// </summary>
internal sealed class KnowledgeEmbeddings(
    SwitchboardDbContext db, SecretProtector secrets, IHttpClientFactory httpFactory, IOptions<KnowledgeOptions> options, ILogger<KnowledgeEmbeddings> logger)
{
    public const string HttpClientName = "knowledge-embeddings";

    /// <summary>Most inputs per embeddings request (OpenAI allows 2048).</summary>
    private const int Batch = 64;

    /// <summary>The tenant's OpenAI-compatible key and base URL, or null (none, or embeddings disabled).</summary>
    public async Task<OpenAiCredentials?> CredentialAsync(Guid tenantId, CancellationToken ct)
    {
        if (!options.Value.EmbeddingsEnabled)
        {
            return null;
        }
        var row = await db.ProviderCredentials.IgnoreQueryFilters().AsNoTracking()
            .Where(r => r.TenantId == tenantId && r.Provider == Providers.OpenAi)
            .Select(r => new { r.SecretProtected, r.PublicValue }).FirstOrDefaultAsync(ct);
        return secrets.Unprotect(row?.SecretProtected) is { } key ? new OpenAiCredentials(key, row!.PublicValue ?? CredentialStore.DefaultOpenAiBaseUrl) : null;
    }

    /// <summary>Unit vectors for <paramref name="texts"/>, in order; null on any failure.</summary>
    public async Task<float[][]?> EmbedAsync(OpenAiCredentials credential, IReadOnlyList<string> texts, TimeSpan timeout, CancellationToken ct)
    {
        var result = new List<float[]>(texts.Count);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        try
        {
            var http = httpFactory.CreateClient(HttpClientName);
            for (var i = 0; i < texts.Count; i += Batch)
            {
                var inputs = texts.Skip(i).Take(Batch).ToList();
                using var request = new HttpRequestMessage(HttpMethod.Post, credential.BaseUrl.TrimEnd('/') + "/embeddings")
                {
                    Content = JsonContent.Create(new JsonObject
                    {
                        ["model"] = options.Value.EmbeddingModel,
                        ["input"] = new JsonArray([.. inputs.Select(t => (JsonNode?)JsonValue.Create(t))]),
                        ["encoding_format"] = "float",
                    }),
                };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential.ApiKey);
                using var response = await http.SendAsync(request, limit.Token);
                if (!response.IsSuccessStatusCode)
                {
                    logger.LogWarning("Embeddings endpoint answered {Status}; keyword search only", (int)response.StatusCode);
                    return null;
                }
                using var doc = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(limit.Token), cancellationToken: limit.Token);
                var vectors = Parse(doc.RootElement, inputs.Count);
                if (vectors is null)
                {
                    logger.LogWarning("Embeddings endpoint answered an unexpected body; keyword search only");
                    return null;
                }
                result.AddRange(vectors);
            }
            return [.. result];
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or InvalidOperationException
                                   || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            logger.LogWarning("Embeddings request failed ({Error}); keyword search only", e.GetType().Name);
            return null;
        }
    }

    private static float[][]? Parse(JsonElement root, int expected)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array
            || data.GetArrayLength() != expected)
        {
            return null;
        }
        var vectors = new float[expected][];
        var position = 0;
        foreach (var item in data.EnumerateArray())
        {
            var index = item.TryGetProperty("index", out var ix) && ix.TryGetInt32(out var n) ? n : position;
            position++;
            if (index < 0 || index >= expected || !item.TryGetProperty("embedding", out var embedding))
            {
                return null;
            }
            float[] vector;
            if (embedding.ValueKind == JsonValueKind.Array)
            {
                vector = new float[embedding.GetArrayLength()];
                var k = 0;
                foreach (var v in embedding.EnumerateArray())
                {
                    if (!v.TryGetSingle(out vector[k++]))
                    {
                        return null;
                    }
                }
            }
            else if (embedding.ValueKind == JsonValueKind.String && embedding.TryGetBytesFromBase64(out var bytes) && bytes.Length % 4 == 0)
            {
                vector = FromBytes(bytes);
            }
            else
            {
                return null;
            }
            if (vector.Length == 0)
            {
                return null;
            }
            vectors[index] = Normalize(vector);
        }
        return vectors.Any(v => v is null) ? null : vectors;
    }

    public static float[] Normalize(float[] v)
    {
        double sum = 0;
        foreach (var x in v)
        {
            sum += x * x;
        }
        var norm = Math.Sqrt(sum);
        if (norm > 0)
        {
            for (var i = 0; i < v.Length; i++)
            {
                v[i] = (float)(v[i] / norm);
            }
        }
        return v;
    }

    public static byte[] ToBytes(float[] v)
    {
        var bytes = new byte[v.Length * 4];
        for (var i = 0; i < v.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), v[i]);
        }
        return bytes;
    }

    public static float[] FromBytes(ReadOnlySpan<byte> bytes)
    {
        var v = new float[bytes.Length / 4];
        for (var i = 0; i < v.Length; i++)
        {
            v[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
        }
        return v;
    }

    /// <summary>Cosine similarity of a unit vector with a stored unit vector; 0 when dimensions differ.</summary>
    public static double Dot(float[] query, ReadOnlySpan<byte> stored)
    {
        if (stored.Length != query.Length * 4)
        {
            return 0;
        }
        double sum = 0;
        for (var i = 0; i < query.Length; i++)
        {
            sum += query[i] * BinaryPrimitives.ReadSingleLittleEndian(stored[(i * 4)..]);
        }
        return sum;
    }
}
