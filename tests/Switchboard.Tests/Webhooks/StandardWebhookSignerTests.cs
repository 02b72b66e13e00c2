using System.Globalization;
using System.Text;
using System.Text.Json;
using Switchboard.Tests.Support;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Webhooks;

/// <summary>
/// Standard Webhooks v1 signing and verification, driven by every entry of
/// shared/fixtures/standard-webhooks/vectors.json plus behaviours the fixture only describes.
/// </summary>
public sealed class StandardWebhookSignerTests
{
    private const string VectorsFile = "standard-webhooks/vectors.json";

    // The values the reference libraries' tests share (fixture sign-1); vectors that give only a
    // signature are checked against these, as the JS and Go tests do.
    private const string ReferenceSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string ReferenceMsgId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const string ReferencePayload = "{\"test\": 2432232314}";

    private static readonly Lazy<JsonElement> VectorsRoot = new(() =>
    {
        using var document = JsonDocument.Parse(Fixtures.ReadText(VectorsFile));
        return document.RootElement.Clone();
    });

    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    private static JsonElement Vectors => VectorsRoot.Value;

    // ---- Fixture: sign_vectors and derived_by_researcher ------------------------------------------

    public static TheoryData<string> SigningVectorNames()
    {
        var names = new TheoryData<string>();
        foreach (var vector in Vectors.GetProperty("sign_vectors").EnumerateArray())
        {
            names.Add(vector.GetProperty("id").GetString()!);
        }
        var derived = Vectors.GetProperty("derived_by_researcher").GetProperty("cases").GetArrayLength();
        for (var i = 0; i < derived; i++)
        {
            names.Add($"derived_by_researcher[{i}]");
        }
        return names;
    }

    [Theory]
    [MemberData(nameof(SigningVectorNames))]
    public void SigningVectorProducesTheExpectedSignature(string name)
    {
        var vector = SigningVector(name);
        var timestamp = DateTimeOffset.FromUnixTimeSeconds(vector.GetProperty("timestamp").GetInt64());

        var signature = StandardWebhookSigner.Sign(Text(vector, "secret"), Text(vector, "msg_id"), timestamp, Utf8(Text(vector, "payload")));

        Assert.Equal(Text(vector, "expected_signature"), signature);
    }

    [Theory]
    [MemberData(nameof(SigningVectorNames))]
    public void SigningVectorVerifiesAndRejectsATamperedBody(string name)
    {
        var vector = SigningVector(name);
        var unixSeconds = vector.GetProperty("timestamp").GetInt64();
        var now = DateTimeOffset.FromUnixTimeSeconds(unixSeconds);
        var secret = Text(vector, "secret");
        var msgId = Text(vector, "msg_id");
        var signature = Text(vector, "expected_signature");
        var payload = Text(vector, "payload");
        var timestampHeader = unixSeconds.ToString(CultureInfo.InvariantCulture);

        Assert.Equal(VerifyResult.Valid, Verify(secret, msgId, timestampHeader, signature, Utf8(payload), now));
        Assert.Equal(VerifyResult.InvalidSignature, Verify(secret, msgId, timestampHeader, signature, Utf8(payload + " "), now));
    }

    // ---- Fixture: negative_vectors -------------------------------------------------------------------

    public static TheoryData<string> NegativeVectorIds()
    {
        var ids = new TheoryData<string>();
        foreach (var vector in Vectors.GetProperty("negative_vectors").EnumerateArray())
        {
            ids.Add(vector.GetProperty("id").GetString()!);
        }
        return ids;
    }

    [Theory]
    [MemberData(nameof(NegativeVectorIds))]
    public void NegativeVectorIsRejected(string id)
    {
        var vector = Vectors.GetProperty("negative_vectors").EnumerateArray()
            .Single(v => v.GetProperty("id").GetString() == id);

        if (vector.TryGetProperty("webhook-signature", out var badSignature))
        {
            AssertBadSignatureIsRejected(vector, badSignature.GetString()!);
            return;
        }

        switch (id)
        {
            case "missing-headers":
                AssertEachMissingHeaderIsRejected();
                break;
            case "timestamp-too-old":
                AssertTimestampOutcome(offsetSeconds: -(300 + 1), VerifyResult.TimestampTooOld);
                break;
            case "timestamp-too-new":
                AssertTimestampOutcome(offsetSeconds: 300 + 1, VerifyResult.TimestampTooNew);
                break;
            case "invalid-timestamp-on-sign":
                AssertInvalidTimestampsAreRejected(vector);
                break;
            case "empty-secret":
                AssertEmptySecretsAreRejected(vector);
                break;
            default:
                Assert.Fail($"Negative vector '{id}' has no check here: add a case for it.");
                break;
        }
    }

    private static void AssertBadSignatureIsRejected(JsonElement vector, string badSignature)
    {
        var secret = OptionalText(vector, "secret") ?? ReferenceSecret;
        var msgId = OptionalText(vector, "msg_id") ?? ReferenceMsgId;
        var body = Utf8(OptionalText(vector, "payload") ?? ReferencePayload);
        // A numeric timestamp is used as given; "now" or none means the message was just sent.
        var timestamp = vector.TryGetProperty("timestamp", out var ts) && ts.ValueKind == JsonValueKind.Number
            ? DateTimeOffset.FromUnixTimeSeconds(ts.GetInt64())
            : Now;
        var timestampHeader = StandardWebhookSigner.FormatTimestamp(timestamp);

        Assert.Equal(VerifyResult.InvalidSignature, Verify(secret, msgId, timestampHeader, badSignature, body, timestamp));
        // The same message with its real signature passes, so the rejection is down to the signature alone.
        var good = StandardWebhookSigner.Sign(secret, msgId, timestamp, body);
        Assert.Equal(VerifyResult.Valid, Verify(secret, msgId, timestampHeader, good, body, timestamp));
    }

    private static void AssertEachMissingHeaderIsRejected()
    {
        var body = Utf8(ReferencePayload);
        var complete = new Dictionary<string, string>
        {
            [StandardWebhookSigner.IdHeader] = ReferenceMsgId,
            [StandardWebhookSigner.TimestampHeader] = StandardWebhookSigner.FormatTimestamp(Now),
            [StandardWebhookSigner.SignatureHeader] = StandardWebhookSigner.Sign(ReferenceSecret, ReferenceMsgId, Now, body),
        };
        Assert.Equal(VerifyResult.Valid, StandardWebhookSigner.Verify(ReferenceSecret, complete, body, Now, StandardWebhookSigner.DefaultTolerance));

        foreach (var missing in complete.Keys)
        {
            var headers = complete.Where(h => h.Key != missing).ToDictionary();
            Assert.Equal(VerifyResult.MissingHeaders, StandardWebhookSigner.Verify(ReferenceSecret, headers, body, Now, StandardWebhookSigner.DefaultTolerance));
        }
    }

    private static void AssertTimestampOutcome(int offsetSeconds, VerifyResult expected)
    {
        var body = Utf8(ReferencePayload);
        var sentAt = Now.AddSeconds(offsetSeconds);
        var signature = StandardWebhookSigner.Sign(ReferenceSecret, ReferenceMsgId, sentAt, body);

        Assert.Equal(expected, Verify(ReferenceSecret, ReferenceMsgId, StandardWebhookSigner.FormatTimestamp(sentAt), signature, body, Now));
    }

    private static void AssertInvalidTimestampsAreRejected(JsonElement vector)
    {
        var secret = Text(vector, "secret");
        var msgId = Text(vector, "msg_id");
        var body = Utf8(Text(vector, "payload"));
        var signature = StandardWebhookSigner.Sign(secret, msgId, Now, body);

        foreach (var timestamp in vector.GetProperty("timestamps").EnumerateArray().Select(t => t.GetString()!))
        {
            // Sign takes a DateTimeOffset, so a float or text timestamp cannot reach it; a negative one is refused.
            if (long.TryParse(timestamp, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds))
            {
                Assert.Throws<ArgumentOutOfRangeException>(() => StandardWebhookSigner.Sign(secret, msgId, DateTimeOffset.FromUnixTimeSeconds(seconds), body));
            }
            Assert.Equal(VerifyResult.InvalidTimestamp, Verify(secret, msgId, timestamp, signature, body, Now));
        }
    }

    private static void AssertEmptySecretsAreRejected(JsonElement vector)
    {
        var body = Utf8(ReferencePayload);
        var signature = StandardWebhookSigner.Sign(ReferenceSecret, ReferenceMsgId, Now, body);

        foreach (var secret in vector.GetProperty("secrets").EnumerateArray().Select(s => s.GetString()!))
        {
            Assert.Throws<ArgumentException>("secret", () => StandardWebhookSigner.Sign(secret, ReferenceMsgId, Now, body));
            Assert.Equal(VerifyResult.InvalidSecret, Verify(secret, ReferenceMsgId, StandardWebhookSigner.FormatTimestamp(Now), signature, body, Now));
        }
    }

    // ---- Fixture: multi_signature_vector, secret_parsing_vectors, spec_example_headers -------------

    [Fact]
    public void MultiSignatureHeaderIsAcceptedOnAnyV1MatchAndSkipsOtherVersions()
    {
        var vector = Vectors.GetProperty("multi_signature_vector");
        var entries = vector.GetProperty("signatures").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Single(entries, e => e == "<VALID>");
        var body = Utf8(ReferencePayload);
        var timestampHeader = StandardWebhookSigner.FormatTimestamp(Now);
        var valid = StandardWebhookSigner.Sign(ReferenceSecret, ReferenceMsgId, Now, body);

        var withValid = string.Join(' ', entries.Select(e => e == "<VALID>" ? valid : e));
        var withoutValid = string.Join(' ', entries.Where(e => e != "<VALID>"));

        Assert.Equal(VerifyResult.Valid, Verify(ReferenceSecret, ReferenceMsgId, timestampHeader, withValid, body, Now));
        Assert.Equal(VerifyResult.InvalidSignature, Verify(ReferenceSecret, ReferenceMsgId, timestampHeader, withoutValid, body, Now));
    }

    public static TheoryData<int> SecretParsingCases() =>
        new(Enumerable.Range(0, Vectors.GetProperty("secret_parsing_vectors").GetProperty("cases").GetArrayLength()));

    [Theory]
    [MemberData(nameof(SecretParsingCases))]
    public void SecretWithoutPrefixOrPaddingSignsLikeItsPaddedEquivalent(int index)
    {
        var parsingCase = Vectors.GetProperty("secret_parsing_vectors").GetProperty("cases")[index];
        var configured = Text(parsingCase, "secret_as_configured");
        var padded = Text(parsingCase, "padded_equivalent");
        var body = Utf8(ReferencePayload);

        var expected = StandardWebhookSigner.Sign(padded, ReferenceMsgId, Now, body);

        Assert.Equal(expected, StandardWebhookSigner.Sign(configured, ReferenceMsgId, Now, body));
        Assert.Equal(expected, StandardWebhookSigner.Sign(StandardWebhookSigner.SecretPrefix + padded, ReferenceMsgId, Now, body));
        Assert.Equal(VerifyResult.Valid, Verify(configured, ReferenceMsgId, StandardWebhookSigner.FormatTimestamp(Now), expected, body, Now));
    }

    [Fact]
    public void SpecExampleHeaderWithAV1aEntryParsesAndOnlyItsV1EntriesCount()
    {
        var example = Vectors.GetProperty("spec_example_headers");
        var msgId = Text(example, "webhook-id");
        var timestampHeader = Text(example, "webhook-timestamp");
        var signatureHeader = Text(example, "webhook-signature");
        var signedContent = Text(example, "signed_content_example");
        var prefix = $"{msgId}.{timestampHeader}.";
        Assert.StartsWith(prefix, signedContent, StringComparison.Ordinal);
        var body = Utf8(signedContent[prefix.Length..]);
        var sentAt = DateTimeOffset.FromUnixTimeSeconds(long.Parse(timestampHeader, CultureInfo.InvariantCulture));

        // The spec publishes no secret, so its own v1 entry cannot match ours…
        Assert.Equal(VerifyResult.InvalidSignature, Verify(ReferenceSecret, msgId, timestampHeader, signatureHeader, body, sentAt));
        // …but a header carrying v1a next to a matching v1 entry verifies: v1a is skipped, not an error.
        var ours = StandardWebhookSigner.Sign(ReferenceSecret, msgId, sentAt, body);
        Assert.Equal(VerifyResult.Valid, Verify(ReferenceSecret, msgId, timestampHeader, $"{signatureHeader} {ours}", body, sentAt));
    }

    [Fact]
    public void EveryFixtureSectionIsExercisedByThisSuite()
    {
        string[] covered =
        [
            "_source", "algorithm", "sign_vectors", "negative_vectors", "multi_signature_vector",
            "secret_parsing_vectors", "spec_example_headers", "derived_by_researcher",
        ];

        var sections = Vectors.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal);

        Assert.Equal(covered.Order(StringComparer.Ordinal), sections);
    }

    [Fact]
    public void DefaultToleranceIsTheFixturesFiveMinutes()
    {
        var seconds = Vectors.GetProperty("algorithm").GetProperty("tolerance_seconds").GetInt32();

        Assert.Equal(TimeSpan.FromSeconds(seconds), StandardWebhookSigner.DefaultTolerance);
    }

    // ---- Tolerance ------------------------------------------------------------------------------------

    [Theory]
    [InlineData(-300, "Valid")]
    [InlineData(300, "Valid")]
    [InlineData(-301, "TimestampTooOld")]
    [InlineData(301, "TimestampTooNew")]
    [InlineData(-86_400, "TimestampTooOld")]
    [InlineData(0, "Valid")]
    public void TimestampIsJudgedAgainstTheFiveMinuteTolerance(int offsetSeconds, string expected)
    {
        AssertTimestampOutcome(offsetSeconds, Enum.Parse<VerifyResult>(expected));
    }

    [Fact]
    public void CustomToleranceIsHonoured()
    {
        var (msgId, timestampHeader, signature, body) = SignedMessage(Now.AddSeconds(-11));

        Assert.Equal(VerifyResult.TimestampTooOld, StandardWebhookSigner.Verify(ReferenceSecret, msgId, timestampHeader, signature, body, Now, TimeSpan.FromSeconds(10)));
        Assert.Equal(VerifyResult.Valid, StandardWebhookSigner.Verify(ReferenceSecret, msgId, timestampHeader, signature, body, Now, TimeSpan.FromSeconds(11)));
    }

    [Fact]
    public void ToleranceIsMeasuredInWholeSecondsLikeTheReferenceLibraries()
    {
        var (msgId, timestampHeader, signature, body) = SignedMessage(Now);

        // 300.999 s after sending is still second 300, which the libraries accept.
        var now = Now.AddSeconds(300).AddMilliseconds(999);

        Assert.Equal(VerifyResult.Valid, Verify(ReferenceSecret, msgId, timestampHeader, signature, body, now));
    }

    [Fact]
    public void NegativeToleranceRejectsEveryMessage()
    {
        var (msgId, timestampHeader, signature, body) = SignedMessage(Now);

        var result = StandardWebhookSigner.Verify(ReferenceSecret, msgId, timestampHeader, signature, body, Now, TimeSpan.FromSeconds(-1));

        Assert.NotEqual(VerifyResult.Valid, result);
    }

    [Fact]
    public void SubSecondTimestampIsSignedAsItsWholeSecond()
    {
        var body = Utf8(ReferencePayload);
        var precise = Now.AddMilliseconds(999);

        Assert.Equal(StandardWebhookSigner.FormatTimestamp(Now), StandardWebhookSigner.FormatTimestamp(precise));
        Assert.Equal(
            StandardWebhookSigner.Sign(ReferenceSecret, ReferenceMsgId, Now, body),
            StandardWebhookSigner.Sign(ReferenceSecret, ReferenceMsgId, precise, body));
    }

    // ---- Rotation -------------------------------------------------------------------------------------

    [Fact]
    public void DuringRotationEitherSecretVerifiesTheSameDelivery()
    {
        var oldSecret = StandardWebhookSigner.GenerateSecret();
        var newSecret = StandardWebhookSigner.GenerateSecret();
        var body = Utf8("{\"type\":\"call.completed\",\"data\":{\"callId\":\"call_123\"}}");
        var timestampHeader = StandardWebhookSigner.FormatTimestamp(Now);

        var header = StandardWebhookSigner.SignAll([oldSecret, newSecret], ReferenceMsgId, Now, body);

        Assert.Equal(
            $"{StandardWebhookSigner.Sign(oldSecret, ReferenceMsgId, Now, body)} {StandardWebhookSigner.Sign(newSecret, ReferenceMsgId, Now, body)}",
            header);
        Assert.Equal(VerifyResult.Valid, Verify(oldSecret, ReferenceMsgId, timestampHeader, header, body, Now));
        Assert.Equal(VerifyResult.Valid, Verify(newSecret, ReferenceMsgId, timestampHeader, header, body, Now));
        Assert.Equal(VerifyResult.InvalidSignature, Verify(StandardWebhookSigner.GenerateSecret(), ReferenceMsgId, timestampHeader, header, body, Now));
    }

    [Fact]
    public void SignAllWithOneSecretEqualsSign()
    {
        var body = Utf8(ReferencePayload);

        Assert.Equal(
            StandardWebhookSigner.Sign(ReferenceSecret, ReferenceMsgId, Now, body),
            StandardWebhookSigner.SignAll([ReferenceSecret], ReferenceMsgId, Now, body));
    }

    [Fact]
    public void SignAllRefusesNoSecretsOrABadOne()
    {
        var body = Utf8(ReferencePayload);

        Assert.Throws<ArgumentException>("secrets", () => StandardWebhookSigner.SignAll([], ReferenceMsgId, Now, body));
        Assert.Throws<ArgumentException>("secrets", () => StandardWebhookSigner.SignAll([ReferenceSecret, "whsec_"], ReferenceMsgId, Now, body));
    }

    // ---- Tampering ------------------------------------------------------------------------------------

    [Fact]
    public void TamperedBodyIsRejected()
    {
        var (msgId, timestampHeader, signature, _) = SignedMessage(Now);

        // Parsing and re-serialising the JSON, the spec's most common failure, changes the bytes too.
        Assert.Equal(VerifyResult.InvalidSignature, Verify(ReferenceSecret, msgId, timestampHeader, signature, Utf8("{\"test\":2432232314}"), Now));
        Assert.Equal(VerifyResult.InvalidSignature, Verify(ReferenceSecret, msgId, timestampHeader, signature, Utf8("{\"test\": 2432232315}"), Now));
        Assert.Equal(VerifyResult.InvalidSignature, Verify(ReferenceSecret, msgId, timestampHeader, signature, [], Now));
    }

    [Fact]
    public void ReplayedSignatureWithAnotherIdOrTimestampIsRejected()
    {
        var (msgId, timestampHeader, signature, body) = SignedMessage(Now);
        var laterTimestamp = StandardWebhookSigner.FormatTimestamp(Now.AddSeconds(1));

        Assert.Equal(VerifyResult.InvalidSignature, Verify(ReferenceSecret, msgId + "x", timestampHeader, signature, body, Now));
        Assert.Equal(VerifyResult.InvalidSignature, Verify(ReferenceSecret, msgId, laterTimestamp, signature, body, Now));
    }

    [Fact]
    public void SignatureFromAnotherSecretIsRejected()
    {
        var body = Utf8(ReferencePayload);
        var signature = StandardWebhookSigner.Sign(StandardWebhookSigner.GenerateSecret(), ReferenceMsgId, Now, body);

        Assert.Equal(VerifyResult.InvalidSignature, Verify(ReferenceSecret, ReferenceMsgId, StandardWebhookSigner.FormatTimestamp(Now), signature, body, Now));
    }

    [Theory]
    [InlineData("v1")]
    [InlineData("v1,")]
    [InlineData(",")]
    [InlineData(" ")]
    [InlineData("v1 ,")]
    [InlineData("v1,,")]
    [InlineData("v2,{valid}")]
    [InlineData("V1,{valid}")]
    [InlineData("v1a,{valid}")]
    [InlineData("v1,{valid}=")]
    [InlineData("v1, {valid}")]
    [InlineData("v1,{valid},")]
    public void MalformedOrForeignSignatureEntriesAreRejectedWithoutThrowing(string template)
    {
        var (msgId, timestampHeader, valid, body) = SignedMessage(Now);
        var header = template.Replace("{valid}", valid["v1,".Length..], StringComparison.Ordinal);

        Assert.Equal(VerifyResult.InvalidSignature, Verify(ReferenceSecret, msgId, timestampHeader, header, body, Now));
    }

    [Theory]
    [InlineData("{valid}  v1,abc")]
    [InlineData(" {valid}")]
    [InlineData("v1 nonsense,, {valid} ")]
    public void ValidEntryAmongExtraSpacesAndJunkIsAccepted(string template)
    {
        var (msgId, timestampHeader, valid, body) = SignedMessage(Now);
        var header = template.Replace("{valid}", valid, StringComparison.Ordinal);

        Assert.Equal(VerifyResult.Valid, Verify(ReferenceSecret, msgId, timestampHeader, header, body, Now));
    }

    // ---- Missing and malformed input ------------------------------------------------------------------

    [Theory]
    [InlineData(null, "1700000000", "v1,x")]
    [InlineData("", "1700000000", "v1,x")]
    [InlineData("msg_1", null, "v1,x")]
    [InlineData("msg_1", "", "v1,x")]
    [InlineData("msg_1", "1700000000", null)]
    [InlineData("msg_1", "1700000000", "")]
    [InlineData(null, null, null)]
    public void MissingHeaderIsReported(string? msgId, string? timestampHeader, string? signatureHeader)
    {
        Assert.Equal(VerifyResult.MissingHeaders, Verify(ReferenceSecret, msgId, timestampHeader, signatureHeader, Utf8(ReferencePayload), Now));
    }

    [Fact]
    public void MissingHeaderMapIsReported()
    {
        Assert.Equal(VerifyResult.MissingHeaders, StandardWebhookSigner.Verify(ReferenceSecret, null, Utf8(ReferencePayload), Now, StandardWebhookSigner.DefaultTolerance));
    }

    [Fact]
    public void HeaderNamesMatchWhateverTheirCase()
    {
        var (msgId, timestampHeader, signature, body) = SignedMessage(Now);
        // An ordinal dictionary, so the lookup cannot lean on the map's own comparer.
        var headers = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Webhook-Id"] = msgId,
            ["WEBHOOK-TIMESTAMP"] = timestampHeader,
            ["webhook-Signature"] = signature,
        };

        Assert.Equal(VerifyResult.Valid, StandardWebhookSigner.Verify(ReferenceSecret, headers, body, Now, StandardWebhookSigner.DefaultTolerance));
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("1.5")]
    [InlineData("1700000000.0")]
    [InlineData("-1700000000")]
    [InlineData("+1700000000")]
    [InlineData(" 1700000000")]
    [InlineData("1700000000 ")]
    [InlineData("1_700_000_000")]
    [InlineData("0x6553F100")]
    [InlineData("99999999999999999999")]
    [InlineData("253402300800")]
    public void NonIntegerTimestampIsInvalid(string timestampHeader)
    {
        var (msgId, _, signature, body) = SignedMessage(Now);

        Assert.Equal(VerifyResult.InvalidTimestamp, Verify(ReferenceSecret, msgId, timestampHeader, signature, body, Now));
    }

    [Theory]
    [InlineData("")]
    [InlineData("whsec_")]
    [InlineData("whsec_!!!!")]
    [InlineData("whsec_abcde")]
    [InlineData("whsec_%%%%")]
    [InlineData("=")]
    public void UnusableSecretIsReportedByVerifyAndRefusedBySign(string secret)
    {
        var (msgId, timestampHeader, signature, body) = SignedMessage(Now);

        Assert.Equal(VerifyResult.InvalidSecret, Verify(secret, msgId, timestampHeader, signature, body, Now));
        var error = Assert.Throws<ArgumentException>("secret", () => StandardWebhookSigner.Sign(secret, msgId, Now, body));
        if (secret.Length > "whsec_".Length)
        {
            Assert.DoesNotContain(secret, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void NullSecretIsReportedByVerify()
    {
        var (msgId, timestampHeader, signature, body) = SignedMessage(Now);

        Assert.Equal(VerifyResult.InvalidSecret, Verify(null!, msgId, timestampHeader, signature, body, Now));
    }

    [Theory]
    [InlineData("msg.1")]
    [InlineData(".")]
    [InlineData("")]
    public void SignRefusesAnIdThatWouldMakeTheSignedContentAmbiguous(string msgId)
    {
        Assert.Throws<ArgumentException>("msgId", () => StandardWebhookSigner.Sign(ReferenceSecret, msgId, Now, Utf8(ReferencePayload)));
    }

    [Fact]
    public void UnassignedResultIsNotValid()
    {
        Assert.NotEqual(VerifyResult.Valid, default);
    }

    // ---- Secrets and bodies ---------------------------------------------------------------------------

    [Fact]
    public void GeneratedSecretIsPrefixedBase64OfThirtyTwoRandomBytes()
    {
        var first = StandardWebhookSigner.GenerateSecret();
        var second = StandardWebhookSigner.GenerateSecret();

        Assert.StartsWith("whsec_", first, StringComparison.Ordinal);
        Assert.Equal(32, Convert.FromBase64String(first["whsec_".Length..]).Length);
        Assert.NotEqual(first, second);

        var body = Utf8(ReferencePayload);
        var signature = StandardWebhookSigner.Sign(first, ReferenceMsgId, Now, body);
        Assert.Equal(VerifyResult.Valid, Verify(first, ReferenceMsgId, StandardWebhookSigner.FormatTimestamp(Now), signature, body, Now));
    }

    [Fact]
    public void UnicodeBodyIsSignedAsItsUtf8Bytes()
    {
        const string text = "{\"greeting\":\"Grüß dich — こんにちは — مرحبا — 🎉\"}";
        var (msgId, timestampHeader, signature, _) = SignedMessage(Now, Utf8(text));

        Assert.Equal(VerifyResult.Valid, Verify(ReferenceSecret, msgId, timestampHeader, signature, Utf8(text), Now));
        Assert.Equal(VerifyResult.InvalidSignature, Verify(ReferenceSecret, msgId, timestampHeader, signature, Encoding.Unicode.GetBytes(text), Now));
    }

    [Fact]
    public void EmptyBodyRoundTrips()
    {
        var (msgId, timestampHeader, signature, body) = SignedMessage(Now, []);

        Assert.Equal(VerifyResult.Valid, Verify(ReferenceSecret, msgId, timestampHeader, signature, body, Now));
    }

    [Fact]
    public void LargeBodyAndLongUnpaddedSecretRoundTrip()
    {
        // Beyond the stack buffers, so the pooled paths are exercised too.
        var body = new byte[200_000];
        new Random(42).NextBytes(body);
        var secret = "whsec_" + Convert.ToBase64String(Enumerable.Range(0, 301).Select(i => (byte)i).ToArray()).TrimEnd('=');
        var timestampHeader = StandardWebhookSigner.FormatTimestamp(Now);

        var signature = StandardWebhookSigner.Sign(secret, ReferenceMsgId, Now, body);

        Assert.Equal(VerifyResult.Valid, Verify(secret, ReferenceMsgId, timestampHeader, signature, body, Now));
        body[^1] ^= 1;
        Assert.Equal(VerifyResult.InvalidSignature, Verify(secret, ReferenceMsgId, timestampHeader, signature, body, Now));
    }

    // ---- Helpers ------------------------------------------------------------------------------------

    private static VerifyResult Verify(string secret, string? msgId, string? timestampHeader, string? signatureHeader, byte[] body, DateTimeOffset now) =>
        StandardWebhookSigner.Verify(secret, msgId, timestampHeader, signatureHeader, body, now, StandardWebhookSigner.DefaultTolerance);

    private static (string MsgId, string TimestampHeader, string Signature, byte[] Body) SignedMessage(DateTimeOffset sentAt, byte[]? body = null)
    {
        body ??= Utf8(ReferencePayload);
        return (ReferenceMsgId, StandardWebhookSigner.FormatTimestamp(sentAt), StandardWebhookSigner.Sign(ReferenceSecret, ReferenceMsgId, sentAt, body), body);
    }

    private static JsonElement SigningVector(string name)
    {
        const string derivedPrefix = "derived_by_researcher[";
        if (name.StartsWith(derivedPrefix, StringComparison.Ordinal))
        {
            var index = int.Parse(name[derivedPrefix.Length..^1], CultureInfo.InvariantCulture);
            return Vectors.GetProperty("derived_by_researcher").GetProperty("cases")[index];
        }
        return Vectors.GetProperty("sign_vectors").EnumerateArray().Single(v => v.GetProperty("id").GetString() == name);
    }

    private static string Text(JsonElement element, string property) => element.GetProperty(property).GetString()!;

    private static string? OptionalText(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) ? value.GetString() : null;

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
