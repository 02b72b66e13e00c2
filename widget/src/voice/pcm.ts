/**
 * Audio helpers of widget voice (no DOM): the microphone's float samples at the AudioContext's rate → PCM16 mono at
 * 24 kHz, the rate of the realtime provider's `audio/pcm` format (openai-realtime.md §2), and back for playback.
 */

/** The rate the server and the realtime provider speak (Hz). */
export const VOICE_RATE = 24000;

/**
 * A streaming resampler: call {@link process} with consecutive blocks; its position carries over between blocks, so the
 * output is the same however the input is cut. Downsampling (e.g. 48 kHz → 24 kHz) averages the input samples each output
 * sample covers (a box low-pass, enough for speech); upsampling interpolates linearly.
 */
export class Resampler {
  // Positions are integers in units of 1 / (inRate × outRate) s, so block boundaries never accumulate rounding.
  private readonly inRate: number;
  private readonly outRate: number;
  private pos = 0;
  private last = 0;
  private sum = 0;
  private count = 0;
  private acc = 0;

  constructor(inRate: number, outRate = VOICE_RATE) {
    if (!(inRate > 0 && outRate > 0)) throw new RangeError("sample rates must be positive");
    this.inRate = Math.round(inRate);
    this.outRate = Math.round(outRate);
  }

  process(input: Float32Array): Float32Array {
    const { inRate, outRate } = this;
    const out = new Float32Array(Math.ceil(((input.length + 1) * outRate) / inRate) + 1);
    let n = 0;
    if (inRate >= outRate) {
      for (let i = 0; i < input.length; i++) {
        this.sum += input[i];
        this.count++;
        this.acc += outRate;
        if (this.acc >= inRate) {
          out[n++] = this.sum / this.count;
          this.sum = 0;
          this.count = 0;
          this.acc -= inRate;
        }
      }
    } else if (input.length > 0) {
      // Index 0 is the previous block's last sample, index k is input[k - 1]; one input sample is outRate units.
      const end = input.length * outRate;
      while (this.pos < end) {
        const i = Math.floor(this.pos / outRate);
        const a = i === 0 ? this.last : input[i - 1];
        out[n++] = a + ((input[i] - a) * (this.pos - i * outRate)) / outRate;
        this.pos += inRate;
      }
      this.pos -= end;
      this.last = input[input.length - 1];
    }
    return out.subarray(0, n);
  }
}

/** Float samples (−1…1, clamped) → PCM16 little-endian bytes. */
export function encodePcm16(samples: Float32Array): Uint8Array {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(i * 2, Math.round(s < 0 ? s * 0x8000 : s * 0x7fff), true);
  }
  return bytes;
}

/** PCM16 little-endian bytes → float samples (an odd trailing byte is ignored). */
export function decodePcm16(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength >> 1);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true) / 0x8000;
  return out;
}

export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
