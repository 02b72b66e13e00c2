using System.Text.Json;
using System.Text.Json.Nodes;
using Switchboard.Brain;

namespace Switchboard.Realtime.Bridge;

/// <summary>Everything the bridge needs about one native call, loaded once before the socket is accepted.</summary>
internal sealed record VoiceCallSetup(
    Guid TenantId,
    string TenantName,
    Guid CallId,
    string CallSid,
    Guid? AssistantId,
    string Language,
    bool MultiLingual,
    string Instructions,
    string? FirstMessage,
    string Model,
    string Voice,
    Uri ProviderUri,
    string? ApiKey,
    string ApiKeyHeader,
    int MaxCallSeconds,
    bool RecordingEnabled,
    string RecordingCallbackUrl,
    string? CustomerNumber,
    IReadOnlyList<string> Tools,
    IReadOnlyList<string>? TransferDestinations = null,
    string? BaseUrl = null,
    int FirstTurnSeq = 0,
    Tenancy.UrgencyRules? UrgencyRules = null,
    BusinessWording? Wording = null);

/// <summary>Why the bridge asks the model to speak.</summary>
internal enum ResponseKind
{
    None,
    Filler,
    Greeting,
    Reprompt,
    Dtmf,
    AfterTool,
    Continue,
    Goodbye,
}

/// <summary>An item of the conversation kept to replay it into a new provider session (openai-realtime.md §1: session limits).</summary>
internal sealed record HistoryItem(string Kind, string? Text, string? Name = null, string? CallId = null);

/// <summary>
/// Client events of the OpenAI Realtime GA protocol (openai-realtime.md §2–§3, S1 types): <c>session.update</c> with
/// <c>type: realtime</c>, <c>audio.input/output.format</c>, server VAD, transcription, voice, tools;
/// <c>response.create</c>, <c>conversation.item.create</c> (messages, <c>function_call</c>, <c>function_call_output</c>),
/// <c>conversation.item.truncate</c>.
/// </summary>
internal static class RealtimeProtocol
{
    // The tools JSON per set of enabled tools, built once and shared by every call with that set.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> ToolsJson = new();

    /// <summary>Every tool of the registry, for an assistant that does not restrict them.</summary>
    public static IReadOnlyList<string> AllTools { get; } = ToolRegistry.Definitions().Select(d => d!["name"]!.GetValue<string>()).ToList();

    private static byte[] ToolsFor(IReadOnlyList<string> enabled, IReadOnlyList<string>? destinations, BusinessWording? wording) =>
        ToolsJson.GetOrAdd((wording?.Key ?? "") + "|" + string.Join(',', enabled.Order(StringComparer.Ordinal)) + "|" + string.Join('\u001f', destinations ?? []),
            _ => JsonSerializer.SerializeToUtf8Bytes(BuildTools(enabled, destinations, wording)));

    private static JsonArray BuildTools(IReadOnlyList<string> enabled, IReadOnlyList<string>? destinations, BusinessWording? wording)
    {
        var tools = new JsonArray();
        var definitions = ToolRegistry.Definitions(wording).Select(d => d!.AsObject()).ToList();
        if (enabled.Contains(ToolRegistry.TransferCall) && destinations is { Count: > 0 })
        {
            definitions.Add(ToolRegistry.TransferDefinition(destinations)); // only for assistants that enable transfer
        }
        foreach (var def in definitions.Where(d => enabled.Contains(d["name"]!.GetValue<string>())))
        {
            var tool = new JsonObject { ["type"] = "function" };
            foreach (var (key, value) in def)
            {
                tool[key] = value?.DeepClone();
            }
            tools.Add(tool);
        }
        return tools;
    }

    /// <summary><c>session.update</c>: μ-law both ways (<paramref name="transcode"/> false) or 24 kHz PCM16.</summary>
    public static OutFrame SessionUpdate(VoiceCallSetup setup, RealtimeOptions options, bool transcode) =>
        Wire.Json((setup, options, transcode), static (w, s) =>
        {
            var (setup, options, transcode) = s;
            w.WriteStartObject();
            w.WriteString("type", "session.update");
            w.WriteStartObject("session");
            w.WriteString("type", "realtime");
            w.WriteString("model", setup.Model);
            w.WriteStartArray("output_modalities");
            w.WriteStringValue("audio");
            w.WriteEndArray();
            w.WriteString("instructions", setup.Instructions);
            w.WriteStartObject("audio");
            w.WriteStartObject("input");
            WriteFormat(w, transcode);
            w.WriteStartObject("turn_detection");
            w.WriteString("type", "server_vad");
            w.WriteNumber("threshold", options.VadThreshold);
            w.WriteNumber("prefix_padding_ms", options.VadPrefixPaddingMs);
            w.WriteNumber("silence_duration_ms", options.VadSilenceDurationMs);
            w.WriteBoolean("create_response", true);
            w.WriteBoolean("interrupt_response", true);
            w.WriteEndObject();
            if (!string.IsNullOrEmpty(options.TranscriptionModel))
            {
                w.WriteStartObject("transcription");
                w.WriteString("model", options.TranscriptionModel);
                if (!setup.MultiLingual)
                {
                    w.WriteString("language", Twilio.VoicePrompts.PrimaryOf(setup.Language));
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteStartObject("output");
            WriteFormat(w, transcode);
            w.WriteString("voice", setup.Voice);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WritePropertyName("tools");
            w.WriteRawValue(ToolsFor(setup.Tools, setup.TransferDestinations, setup.Wording), skipInputValidation: true);
            w.WriteString("tool_choice", "auto");
            w.WriteEndObject();
            w.WriteEndObject();
        });

    private static void WriteFormat(Utf8JsonWriter w, bool transcode)
    {
        w.WriteStartObject("format");
        if (transcode)
        {
            w.WriteString("type", "audio/pcm");
            w.WriteNumber("rate", 24000);
        }
        else
        {
            w.WriteString("type", "audio/pcmu");
        }
        w.WriteEndObject();
    }

    /// <summary><c>response.create</c>, with per-response instructions for greetings, fillers, re-prompts and goodbyes.</summary>
    public static OutFrame ResponseCreate(ResponseKind kind, VoiceCallSetup setup, string? reason = null) =>
        Wire.Json((kind, setup, reason), static (w, s) =>
        {
            var (kind, setup, reason) = s;
            w.WriteStartObject();
            w.WriteString("type", "response.create");
            var instructions = kind switch
            {
                ResponseKind.Greeting => setup.FirstMessage is { Length: > 0 } first
                    ? $"Greet the caller now by saying exactly: \"{first}\" Then wait for their answer."
                    : "Greet the caller now in one short sentence and ask how you can help.",
                ResponseKind.Filler => "The tool is still running. Tell the caller, in their language and in a few words, that you are checking (for example \"One moment please.\"). Say nothing else.",
                ResponseKind.Reprompt => "The caller has been silent for a while. Politely ask, in their language and in one short sentence, whether they are still there.",
                ResponseKind.Goodbye => reason == "max-duration"
                    ? "The call has reached its time limit. In the caller's language, say in one or two short sentences that the team will follow up, then say goodbye."
                    : reason == "idle-timeout"
                        ? "The caller is not answering. In their language, say briefly that you will end the call and that they can call back, then say goodbye."
                        : "The call is ending. If you have not said goodbye yet, say a very short goodbye in the caller's language; otherwise say nothing.",
                _ => null,
            };
            if (instructions is not null || kind == ResponseKind.Filler)
            {
                w.WriteStartObject("response");
                if (instructions is not null)
                {
                    w.WriteString("instructions", setup.Instructions + "\n\n" + instructions);
                }
                if (kind == ResponseKind.Filler)
                {
                    // Out of band: the filler is heard but does not become part of the conversation the model continues.
                    w.WriteString("conversation", "none");
                    w.WriteStartArray("output_modalities");
                    w.WriteStringValue("audio");
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
        });

    /// <summary><c>conversation.item.create</c> of a user (<c>input_text</c>) or assistant (<c>output_text</c>) message.</summary>
    public static OutFrame Message(string role, string text) =>
        Wire.Json((role, text), static (w, s) =>
        {
            w.WriteStartObject();
            w.WriteString("type", "conversation.item.create");
            w.WriteStartObject("item");
            w.WriteString("type", "message");
            w.WriteString("role", s.role);
            w.WriteStartArray("content");
            w.WriteStartObject();
            w.WriteString("type", s.role == "assistant" ? "output_text" : "input_text");
            w.WriteString("text", s.text);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        });

    /// <summary><c>conversation.item.create</c> replaying a <c>function_call</c> item.</summary>
    public static OutFrame FunctionCall(string name, string callId, string arguments) =>
        Wire.Json((name, callId, arguments), static (w, s) =>
        {
            w.WriteStartObject();
            w.WriteString("type", "conversation.item.create");
            w.WriteStartObject("item");
            w.WriteString("type", "function_call");
            w.WriteString("call_id", s.callId);
            w.WriteString("name", s.name);
            w.WriteString("arguments", s.arguments);
            w.WriteEndObject();
            w.WriteEndObject();
        });

    /// <summary><c>conversation.item.create</c> of a <c>function_call_output</c> (the output is a string).</summary>
    public static OutFrame FunctionOutput(string callId, string output) =>
        Wire.Json((callId, output), static (w, s) =>
        {
            w.WriteStartObject();
            w.WriteString("type", "conversation.item.create");
            w.WriteStartObject("item");
            w.WriteString("type", "function_call_output");
            w.WriteString("call_id", s.callId);
            w.WriteString("output", s.output);
            w.WriteEndObject();
            w.WriteEndObject();
        });

    /// <summary><c>conversation.item.truncate</c> of an assistant item at what the caller heard.</summary>
    public static OutFrame Truncate(string itemId, long audioEndMs) =>
        Wire.Json((itemId, audioEndMs), static (w, s) =>
        {
            w.WriteStartObject();
            w.WriteString("type", "conversation.item.truncate");
            w.WriteString("item_id", s.itemId);
            w.WriteNumber("content_index", 0);
            w.WriteNumber("audio_end_ms", s.audioEndMs);
            w.WriteEndObject();
        });

    /// <summary>
    /// <c>input_audio_buffer.commit</c>: the caller's audio so far becomes a user item and is transcribed (the server answers
    /// <c>input_audio_buffer.committed</c>, then <c>conversation.item.input_audio_transcription.completed</c> or <c>.failed</c>;
    /// an empty buffer is the error <c>input_audio_buffer_commit_empty</c>). With server VAD the server commits by itself when
    /// the caller pauses; the bridge commits when the caller hangs up mid-sentence.
    /// </summary>
    public static readonly OutFrame Commit = Wire.Json(0, static (w, _) =>
    {
        w.WriteStartObject();
        w.WriteString("type", "input_audio_buffer.commit");
        w.WriteEndObject();
    });

    /// <summary>Twilio <c>clear</c>: drop buffered audio, echo pending marks (twilio-media-streams.md §4).</summary>
    public static OutFrame TwilioClear(string streamSid) =>
        Wire.Json(streamSid, static (w, sid) =>
        {
            w.WriteStartObject();
            w.WriteString("event", "clear");
            w.WriteString("streamSid", sid);
            w.WriteEndObject();
        });

    /// <summary>
    /// The session's instructions: the assistant's own, then what the phone call adds, worded for the business
    /// (<paramref name="wording"/>: what the caller brings, what an emergency is there, with its own cues from <paramref name="rules"/>).
    /// </summary>
    public static string Instructions(string? assistantInstructions, string tenantName, IReadOnlyList<string> languages, string language,
        string? customerNumber, string localTime, BusinessWording wording, Tenancy.UrgencyRules rules) =>
        $"""
        {assistantInstructions ?? $"You are the receptionist of {tenantName}."}

        You are speaking on the phone for {tenantName}. Start in {language}; the business speaks {string.Join(", ", languages)}, so switch to the caller's language if they use another of these. Keep every answer short and natural: this is a phone call.
        The caller's number is {customerNumber ?? "unknown"}. Local time: {localTime}.

        """
        + wording.UrgencyLines(tenantName, rules, "Call capture_lead as soon as you know the caller's {0} and a callback number, and again when you learn more. " +
            "Use check_business_hours for questions about opening hours, send_sms to text the caller, and end_call once the conversation is over.")
        + "When the caller presses phone keys you receive a message starting with [DTMF].";
}
