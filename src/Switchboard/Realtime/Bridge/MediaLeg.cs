namespace Switchboard.Realtime.Bridge;

/// <summary>
/// The caller's side of a <see cref="MediaBridge"/>: which audio its <c>media</c> frames carry. Both legs speak the
/// Twilio Media Streams framing (twilio-media-streams.md: <c>start</c>/<c>media</c>/<c>mark</c>/<c>stop</c> in;
/// <c>media</c>/<c>mark</c>/<c>clear</c> out), so the bridge's barge-in, mark accounting, tools and transcripts are shared.
/// <list type="bullet">
/// <item><see cref="Twilio"/>: base64 μ-law at 8 kHz (8 bytes per ms); passed through to a provider that takes
/// <c>audio/pcmu</c>, transcoded otherwise.</item>
/// <item><see cref="BrowserPcm16"/>: the web widget's microphone, base64 PCM16 little-endian mono at 24 kHz (48 bytes per
/// ms), the provider's <c>audio/pcm</c> rate (openai-realtime.md §2): always passed through, never transcoded; the
/// caller also receives <c>transcript</c> events (<c>{"event":"transcript","role":"user|assistant","text":"…"}</c>).</item>
/// </list>
/// </summary>
/// <param name="Name">For logs: <c>twilio</c> or <c>browser</c>.</param>
/// <param name="BytesPerMs">Audio bytes per millisecond of the leg's format.</param>
/// <param name="Pcm16PassThrough">The leg's audio is already the provider's 24 kHz PCM16: ask for <c>audio/pcm</c> and copy.</param>
/// <param name="SendsTranscripts">Spoken turns are also sent to the caller as <c>transcript</c> events.</param>
internal sealed record MediaLeg(string Name, int BytesPerMs, bool Pcm16PassThrough, bool SendsTranscripts)
{
    public static readonly MediaLeg Twilio = new("twilio", 8, Pcm16PassThrough: false, SendsTranscripts: false);

    public static readonly MediaLeg BrowserPcm16 = new("browser", 48, Pcm16PassThrough: true, SendsTranscripts: true);
}
