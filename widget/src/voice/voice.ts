// Widget voice (dist/voice.js): loaded by widget.js on the first microphone click. The microphone is captured with an
// AudioWorklet (a ScriptProcessor where the worklet cannot load), resampled to PCM16 mono 24 kHz and sent over a
// WebSocket to the Switchboard host, which bridges it to the same realtime provider as phone calls. The socket speaks
// the Twilio Media Streams framing (Switchboard.Widget.WidgetVoiceApi): we send start/media/mark/stop, the host sends
// media (the assistant's audio, played in order), mark (echoed once the audio before it has played), clear (the visitor
// spoke over the assistant: drop all queued playback) and transcript.
import { Resampler, VOICE_RATE, decodePcm16, encodePcm16, fromBase64, toBase64 } from "./pcm";

export type VoiceState = "listening" | "speaking" | "ended";

export interface VoiceOptions {
  /** The Switchboard host's origin, e.g. `https://switchboard.example`. */
  base: string;
  /** `?key=pk_live_…` */
  q: string;
  /** The body of `POST /widget/v1/voice/sessions` (visitorId, language, pageUrl, referrer). */
  body: Record<string, unknown>;
  onState(state: VoiceState): void;
  onTranscript(role: "user" | "assistant", text: string): void;
}

export interface VoiceCall {
  stop(): void;
}

/** Why voice could not start: the microphone was refused, the plan has no voice, or anything else. */
export type VoiceFailure = "MIC_DENIED" | "NO_VOICE" | "FAILED";

const MEDIA_SAMPLES = VOICE_RATE / 10; // 100 ms per media frame

async function start(o: VoiceOptions): Promise<VoiceCall> {
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
  } catch {
    throw "MIC_DENIED" satisfies VoiceFailure;
  }
  let ctx: AudioContext | undefined;
  let ws: WebSocket | undefined;
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    for (const track of stream.getTracks()) track.stop();
    void ctx?.close();
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000);
    o.onState("ended");
  };
  try {
    const response = await fetch(o.base + "/widget/v1/voice/sessions" + o.q, {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(o.body),
    });
    if (!response.ok) throw response.status === 403 ? "NO_VOICE" : "FAILED";
    const { url } = (await response.json()) as { url: string };

    ctx = new AudioContext();
    await ctx.resume();
    const audio = ctx;
    const resampler = new Resampler(audio.sampleRate);
    const socket = (ws = new WebSocket(o.base.replace(/^http/, "ws") + url));
    // Listen for the handshake now: the socket may open while the worklet module below is still loading (a slow or busy
    // page), and an `open` event nobody listened for would leave the call "connecting" forever.
    const opened = new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject("FAILED" satisfies VoiceFailure);
    });
    opened.catch(() => undefined); // handled by the await below; this only keeps an early failure from being reported as unhandled
    const send = (message: unknown): void => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    };

    // Capture: resampled blocks gathered into 100 ms frames.
    let frame = new Float32Array(MEDIA_SAMPLES);
    let filled = 0;
    const capture = (block: Float32Array): void => {
      const samples = resampler.process(block);
      for (let i = 0; i < samples.length; i++) {
        frame[filled++] = samples[i];
        if (filled === frame.length) {
          send({ event: "media", media: { payload: toBase64(encodePcm16(frame)) } });
          frame = new Float32Array(MEDIA_SAMPLES);
          filled = 0;
        }
      }
    };
    let node: AudioNode;
    try {
      await audio.audioWorklet.addModule(o.base + "/widget/voice-worklet.js");
      const worklet = new AudioWorkletNode(audio, "switchboard-capture");
      worklet.port.onmessage = (e: MessageEvent<Float32Array>) => capture(e.data);
      node = worklet;
    } catch {
      const processor = audio.createScriptProcessor(4096, 1, 1);
      processor.onaudioprocess = (e) => capture(e.inputBuffer.getChannelData(0));
      node = processor;
    }
    const mute = audio.createGain();
    mute.gain.value = 0; // the capture node runs only when connected to the output: through silence, so there is no echo
    audio.createMediaStreamSource(stream).connect(node);
    node.connect(mute).connect(audio.destination);

    // Playback: chunks scheduled back to back; a mark is echoed when the chunk before it has ended.
    const playing = new Set<AudioBufferSourceNode>();
    let last: AudioBufferSourceNode | undefined;
    let playhead = 0;
    socket.onmessage = (e: MessageEvent<string>) => {
      const m = JSON.parse(e.data) as { event: string; media?: { payload: string }; mark?: { name: string }; role?: "user" | "assistant"; text?: string };
      if (m.event === "media" && m.media) {
        const samples = decodePcm16(fromBase64(m.media.payload));
        if (samples.length === 0) return;
        const buffer = audio.createBuffer(1, samples.length, VOICE_RATE);
        buffer.getChannelData(0).set(samples);
        const source = audio.createBufferSource();
        source.buffer = buffer;
        source.connect(audio.destination);
        const at = Math.max(playhead, audio.currentTime);
        source.start(at);
        playhead = at + buffer.duration;
        playing.add(source);
        last = source;
        source.onended = () => {
          playing.delete(source);
          if (playing.size === 0 && !ended) o.onState("listening");
        };
        if (playing.size === 1) o.onState("speaking");
      } else if (m.event === "mark" && m.mark) {
        const echo = { event: "mark", mark: { name: m.mark.name } };
        if (last && playing.has(last)) last.addEventListener("ended", () => send(echo), { once: true });
        else send(echo);
      } else if (m.event === "clear") {
        for (const source of playing) {
          source.onended = null;
          source.stop();
        }
        playing.clear();
        last = undefined;
        playhead = 0;
        o.onState("listening");
      } else if (m.event === "transcript" && m.role && m.text) {
        o.onTranscript(m.role, m.text);
      }
    };
    await opened;
    socket.onerror = null;
    socket.onclose = end;
    send({ event: "start", start: { streamSid: "web-" + Date.now().toString(36) } });
    o.onState("listening");
  } catch (e) {
    end();
    throw e === "NO_VOICE" || e === "MIC_DENIED" ? e : ("FAILED" satisfies VoiceFailure);
  }
  return {
    stop: () => {
      if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ event: "stop" }));
      end();
    },
  };
}

(window as unknown as { __switchboardVoice?: typeof start }).__switchboardVoice = start;
