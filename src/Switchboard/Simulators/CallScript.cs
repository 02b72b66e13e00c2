using System.Text.Json;
using System.Text.Json.Serialization;

namespace Switchboard.Simulators;

/// <summary>
/// A scripted call, shared by <c>switchboard simulate-call</c>, the tests and the benchmark: what the caller does
/// (<see cref="CallerScript"/>) and how the realtime provider behaves (<see cref="ProviderScript"/>). JSON, camelCase;
/// relative audio paths are resolved against the script's folder (<see cref="Load"/>). Example: <c>samples/flood-call.json</c>.
/// </summary>
internal sealed record CallScript
{
    public string? Description { get; init; }
    public CallerScript Caller { get; init; } = new();
    public ProviderScript Provider { get; init; } = new();

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static CallScript Parse(string json, string? baseDirectory = null)
    {
        var script = JsonSerializer.Deserialize<CallScript>(json, Json) ?? throw new JsonException("Empty script.");
        if (baseDirectory is null)
        {
            return script;
        }
        string? Resolve(string? audio) => audio is null || audio.Contains(':', StringComparison.Ordinal) || Path.IsPathRooted(audio) ? audio : Path.GetFullPath(Path.Combine(baseDirectory, audio));
        return script with
        {
            Caller = script.Caller with { Steps = script.Caller.Steps.Select(s => s with { Say = Resolve(s.Say) }).ToList() },
        };
    }

    public static CallScript Load(string path) => Parse(File.ReadAllText(path), Path.GetDirectoryName(Path.GetFullPath(path)));
}

/// <summary>The simulated caller: who calls, and what they do, step by step.</summary>
internal sealed record CallerScript
{
    public string From { get; init; } = "+15145550123";
    public string To { get; init; } = "+15145550199";

    /// <summary>Twilio's <c>FromCountry</c>/<c>FromState</c> for the caller, e.g. <c>CA</c>/<c>QC</c>.</summary>
    public string? Country { get; init; }
    public string? State { get; init; }

    public List<CallerStep> Steps { get; init; } = [];

    /// <summary>Longest wait of a <c>listen</c> step, in ms.</summary>
    public int ListenTimeoutMs { get; init; } = 20000;

    /// <summary>How long the assistant must have been quiet, once heard, for a <c>listen</c> step to end, in ms.</summary>
    public int ListenQuietMs { get; init; } = 400;

    /// <summary>Echo each mark once its audio has played, as Twilio does; false plays a peer that never echoes them.</summary>
    public bool EchoMarks { get; init; } = true;
}

/// <summary>
/// One caller action. Exactly one of: <see cref="Listen"/> (wait until the assistant has spoken and gone quiet for
/// <see cref="CallerScript.ListenQuietMs"/>),
/// <see cref="Say"/> (play audio: a WAV path, <c>tone:MS</c> or <c>silence:MS</c>; with <see cref="InterruptAfterMs"/>,
/// wait until the assistant is speaking and talk over it after that many ms: a barge-in), <see cref="Dtmf"/> (key
/// presses), <see cref="PauseMs"/>, <see cref="Hangup"/>, <see cref="WaitForHangup"/> (the assistant ends the call).
/// </summary>
internal sealed record CallerStep
{
    public bool Listen { get; init; }
    public string? Say { get; init; }

    /// <summary>What the audio says, for the printed transcript.</summary>
    public string? Text { get; init; }

    public int? InterruptAfterMs { get; init; }
    public string? Dtmf { get; init; }
    public int? PauseMs { get; init; }
    public bool Hangup { get; init; }
    public bool WaitForHangup { get; init; }

    /// <summary>Sends this text frame as it is, e.g. malformed JSON (robustness tests), <see cref="Repeat"/> times.</summary>
    public string? Raw { get; init; }

    public int Repeat { get; init; } = 1;
}

/// <summary>
/// The realtime provider simulator's behaviour. It detects the caller's speech by energy (its server VAD), "hears" the
/// next <see cref="Turns"/> entry for each utterance, calls the turn's tool and then speaks, streaming audio deltas
/// at <see cref="Pace"/> × real time in chunks of <see cref="DeltaMs"/>.
/// </summary>
internal sealed record ProviderScript
{
    public ScriptedSpeech Greeting { get; init; } = new() { Text = "Hello, how can I help you?" };
    public List<ScriptedTurn> Turns { get; init; } = [];

    /// <summary>Answer <c>audio/pcmu</c>; when false, refuse it (the bridge must transcode to 24 kHz PCM16).</summary>
    public bool AcceptPcmu { get; init; } = true;

    /// <summary>Delay before the first audio of an answer, in ms (model thinking time).</summary>
    public int FirstAudioDelayMs { get; init; } = 120;

    /// <summary>Audio per delta, in ms.</summary>
    public int DeltaMs { get; init; } = 100;

    /// <summary>Speed of the audio stream relative to real time (OpenAI streams faster than real time).</summary>
    public double Pace { get; init; } = 1.5;

    /// <summary>After answering this turn (1-based), the session ends with <c>session_expired</c> (a provider time limit).</summary>
    public int? DropAfterTurn { get; init; }

    /// <summary>Mean absolute amplitude above which a caller frame counts as speech.</summary>
    public int SpeechThreshold { get; init; } = 400;

    /// <summary>Put a <see cref="System.Diagnostics.Stopwatch"/> timestamp in the first 12 bytes of every delta (benchmark).</summary>
    public bool StampAudio { get; init; }

    /// <summary>
    /// A new session whose instructions contain a key starts after that many turns (e.g. a caller back from a failed
    /// transfer on a new stream: the script goes on where the call was).
    /// </summary>
    public Dictionary<string, int>? StartTurnByInstructions { get; init; }
}

/// <summary>Something the assistant says: its transcript and, optionally, its audio length in ms (else ~55 ms per character).</summary>
internal sealed record ScriptedSpeech
{
    public string Text { get; init; } = "";
    public int? AudioMs { get; init; }

    public int DurationMs => AudioMs ?? Math.Clamp(Text.Length * 55, 300, 30000);
}

/// <summary>One exchange: what the provider "hears" (its transcription of the utterance), the tool it calls, what it answers.</summary>
internal sealed record ScriptedTurn
{
    public string Hears { get; init; } = "";
    public ScriptedTool? Tool { get; init; }
    public ScriptedSpeech? Says { get; init; }
}

/// <summary>A function call the model makes: name and JSON arguments.</summary>
internal sealed record ScriptedTool
{
    public string Name { get; init; } = "";
    public JsonElement? Arguments { get; init; }
}
