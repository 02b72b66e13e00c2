using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;

namespace Switchboard.Realtime.Bridge;

/// <summary>Twilio Media Streams events received by the bridge (shared/protocols/twilio-media-streams.md §3).</summary>
internal enum TwilioEvent : byte
{
    Unknown,
    Connected,
    Start,
    Media,
    Mark,
    Dtmf,
    Stop,

    /// <summary>Server → Twilio only (read by the Twilio simulator).</summary>
    Clear,
}

/// <summary>
/// One Twilio message as read by <see cref="Wire.ReadTwilio"/>: spans into the received buffer, no allocation.
/// <see cref="Payload"/> is the base64 μ-law of a <c>media</c> event (an unescaped copy when the JSON escaped it).
/// </summary>
internal ref struct TwilioFrame
{
    public TwilioEvent Event;
    public ReadOnlySpan<byte> Payload;
    public long Timestamp;
    public ReadOnlySpan<byte> MarkName;
    public ReadOnlySpan<byte> Digit;
}

/// <summary>
/// One provider event as read by <see cref="Wire.ReadProvider"/>: its <c>type</c> and, for audio and transcript
/// deltas, <c>item_id</c> and <c>delta</c> as spans into the received buffer. Other events are parsed again with
/// <see cref="JsonDocument"/>: they are rare.
/// </summary>
internal ref struct ProviderFrame
{
    public ReadOnlySpan<byte> Type;
    public ReadOnlySpan<byte> ItemId;
    public ReadOnlySpan<byte> Delta;
}

/// <summary>
/// The bridge's wire formats. Hot messages (Twilio <c>media</c> in, provider audio deltas in, and their forwarded
/// forms out) are read with <see cref="Utf8JsonReader"/> and written by copying the base64 payload between two
/// pre-encoded byte templates into a pooled buffer: no decoding, no per-frame allocation when μ-law passes through.
/// Control messages are written with <see cref="Utf8JsonWriter"/>.
/// </summary>
internal static class Wire
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 32 };

    // Provider (OpenAI Realtime GA) event types the bridge handles on the hot path; beta names are accepted too.
    public static ReadOnlySpan<byte> OutputAudioDelta => "response.output_audio.delta"u8;
    public static ReadOnlySpan<byte> BetaAudioDelta => "response.audio.delta"u8;
    public static ReadOnlySpan<byte> OutputTranscriptDelta => "response.output_audio_transcript.delta"u8;
    public static ReadOnlySpan<byte> BetaTranscriptDelta => "response.audio_transcript.delta"u8;

    /// <summary>The base64 alphabet of RFC 4648 §4, with its padding.</summary>
    private static readonly SearchValues<byte> Base64Alphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="u8);

    /// <summary>
    /// True when <paramref name="text"/> is standard base64 (RFC 4648 §4: only its alphabet, whole padded quanta); empty is
    /// valid. <see cref="Base64.IsValid(ReadOnlySpan{byte})"/> alone also accepts white space, which must not reach a JSON string.
    /// </summary>
    internal static bool IsBase64(ReadOnlySpan<byte> text) => text.IndexOfAnyExcept(Base64Alphabet) < 0 && Base64.IsValid(text);

    private static ReadOnlySpan<byte> AppendPrefix => "{\"type\":\"input_audio_buffer.append\",\"audio\":\""u8;
    private static ReadOnlySpan<byte> QuoteBrace => "\"}"u8;
    private static ReadOnlySpan<byte> QuoteBraceBrace => "\"}}"u8;

    /// <summary>Reads a Twilio text frame. Throws <see cref="JsonException"/> on malformed JSON.</summary>
    public static TwilioFrame ReadTwilio(ReadOnlySpan<byte> json)
    {
        var frame = default(TwilioFrame);
        var reader = new Utf8JsonReader(json, ReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("A Twilio message is a JSON object.");
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("event"u8))
            {
                reader.Read();
                frame.Event = reader.TokenType != JsonTokenType.String ? TwilioEvent.Unknown
                    : reader.ValueTextEquals("media"u8) ? TwilioEvent.Media
                    : reader.ValueTextEquals("mark"u8) ? TwilioEvent.Mark
                    : reader.ValueTextEquals("dtmf"u8) ? TwilioEvent.Dtmf
                    : reader.ValueTextEquals("start"u8) ? TwilioEvent.Start
                    : reader.ValueTextEquals("stop"u8) ? TwilioEvent.Stop
                    : reader.ValueTextEquals("connected"u8) ? TwilioEvent.Connected
                    : reader.ValueTextEquals("clear"u8) ? TwilioEvent.Clear
                    : TwilioEvent.Unknown;
            }
            else if (reader.ValueTextEquals("media"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("payload"u8))
                    {
                        reader.Read();
                        frame.Payload = reader.TokenType != JsonTokenType.String ? default : reader.ValueIsEscaped ? Unescaped(ref reader) : reader.ValueSpan;
                        if (!IsBase64(frame.Payload))
                        {
                            // It is pasted as is into the provider's input_audio_buffer.append: a quote or a control
                            // character (escaped in Twilio's JSON, so unescaped here) would break that frame's JSON.
                            throw new JsonException("A media payload is base64 audio (Twilio Media Streams: media.payload).");
                        }
                    }
                    else if (reader.ValueTextEquals("timestamp"u8))
                    {
                        reader.Read();
                        frame.Timestamp = reader.TokenType == JsonTokenType.String && Utf8Parser.TryParse(reader.ValueSpan, out long ts, out _) ? ts
                            : reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var n) ? n : 0;
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            else if (reader.ValueTextEquals("mark"u8) || reader.ValueTextEquals("dtmf"u8))
            {
                var isMark = reader.ValueTextEquals("mark"u8);
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var wanted = isMark ? reader.ValueTextEquals("name"u8) : reader.ValueTextEquals("digit"u8);
                    reader.Read();
                    if (wanted && reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped)
                    {
                        if (isMark)
                        {
                            frame.MarkName = reader.ValueSpan;
                        }
                        else
                        {
                            frame.Digit = reader.ValueSpan;
                        }
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return frame;
    }

    /// <summary>Reads a provider event's type and, for deltas, item id and delta. Throws <see cref="JsonException"/> on malformed JSON.</summary>
    public static ProviderFrame ReadProvider(ReadOnlySpan<byte> json)
    {
        var frame = default(ProviderFrame);
        var reader = new Utf8JsonReader(json, ReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("A provider event is a JSON object.");
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    frame.Type = reader.ValueSpan;
                }
            }
            else if (reader.ValueTextEquals("item_id"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    frame.ItemId = reader.ValueSpan;
                }
            }
            else if (reader.ValueTextEquals("delta"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    frame.Delta = reader.ValueIsEscaped ? Unescaped(ref reader) : reader.ValueSpan;
                }
                else
                {
                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return frame;
    }

    /// <summary>An unescaped copy of an escaped string token (e.g. <c>\/</c> in base64; rare, so it may allocate).</summary>
    private static byte[] Unescaped(ref Utf8JsonReader reader)
    {
        var copy = new byte[reader.ValueSpan.Length];
        var n = reader.CopyString(copy);
        return n == copy.Length ? copy : copy[..n];
    }

    /// <summary>
    /// <c>{"type":"input_audio_buffer.append","audio":"…"}</c> around base64 audio, in a pooled buffer
    /// (openai-realtime.md §3; with <c>audio/pcmu</c> Twilio's payload is forwarded unchanged).
    /// </summary>
    public static OutFrame Append(ReadOnlySpan<byte> base64Audio)
    {
        var length = AppendPrefix.Length + base64Audio.Length + QuoteBrace.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        AppendPrefix.CopyTo(buffer);
        base64Audio.CopyTo(buffer.AsSpan(AppendPrefix.Length));
        QuoteBrace.CopyTo(buffer.AsSpan(AppendPrefix.Length + base64Audio.Length));
        return new OutFrame(buffer, length);
    }

    /// <summary><c>input_audio_buffer.append</c> of raw audio bytes, base64-encoded straight into the pooled frame.</summary>
    public static OutFrame AppendAudio(ReadOnlySpan<byte> audio)
    {
        var encoded = Base64.GetMaxEncodedToUtf8Length(audio.Length);
        var length = AppendPrefix.Length + encoded + QuoteBrace.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        AppendPrefix.CopyTo(buffer);
        Base64.EncodeToUtf8(audio, buffer.AsSpan(AppendPrefix.Length), out _, out var written);
        QuoteBrace.CopyTo(buffer.AsSpan(AppendPrefix.Length + written));
        return new OutFrame(buffer, AppendPrefix.Length + written + QuoteBrace.Length);
    }

    /// <summary>The bytes before the payload of a Twilio <c>media</c> message: <c>{"event":"media","streamSid":"…","media":{"payload":"</c>.</summary>
    public static byte[] TwilioMediaPrefix(string streamSid) =>
        Encoding.UTF8.GetBytes("{\"event\":\"media\",\"streamSid\":" + JsonSerializer.Serialize(streamSid) + ",\"media\":{\"payload\":\"");

    /// <summary>The bytes before a mark's name: <c>{"event":"mark","streamSid":"…","mark":{"name":"</c>.</summary>
    public static byte[] TwilioMarkPrefix(string streamSid) =>
        Encoding.UTF8.GetBytes("{\"event\":\"mark\",\"streamSid\":" + JsonSerializer.Serialize(streamSid) + ",\"mark\":{\"name\":\"");

    /// <summary>A Twilio <c>media</c> message (twilio-media-streams.md §4) around base64 μ-law, in a pooled buffer.</summary>
    public static OutFrame TwilioMedia(byte[] prefix, ReadOnlySpan<byte> base64Audio, FrameKind kind, long providerTimestamp)
    {
        var length = prefix.Length + base64Audio.Length + QuoteBraceBrace.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        prefix.CopyTo(buffer, 0);
        base64Audio.CopyTo(buffer.AsSpan(prefix.Length));
        QuoteBraceBrace.CopyTo(buffer.AsSpan(prefix.Length + base64Audio.Length));
        return new OutFrame(buffer, length, kind, providerTimestamp);
    }

    /// <summary>A Twilio <c>mark</c> message named with a decimal sequence number.</summary>
    public static OutFrame TwilioMark(byte[] prefix, long sequence)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(prefix.Length + 24);
        prefix.CopyTo(buffer, 0);
        Utf8Formatter.TryFormat(sequence, buffer.AsSpan(prefix.Length), out var digits);
        QuoteBraceBrace.CopyTo(buffer.AsSpan(prefix.Length + digits));
        return new OutFrame(buffer, prefix.Length + digits + QuoteBraceBrace.Length);
    }

    /// <summary>Writes a control message with <see cref="Utf8JsonWriter"/> into a pooled frame (rare messages: allocation is fine).</summary>
    public static OutFrame Json<TState>(TState state, Action<Utf8JsonWriter, TState> write)
    {
        var output = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(writer, state);
        }
        var buffer = ArrayPool<byte>.Shared.Rent(output.WrittenCount);
        output.WrittenSpan.CopyTo(buffer);
        return new OutFrame(buffer, output.WrittenCount);
    }
}
