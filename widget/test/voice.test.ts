import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { Resampler, decodePcm16, encodePcm16, fromBase64, toBase64 } from "../src/voice/pcm";

const tone = (rate: number, hz: number, samples: number, offset = 0): Float32Array =>
  Float32Array.from({ length: samples }, (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * (i + offset)) / rate));

const rms = (x: Float32Array): number => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);

describe("Resampler", () => {
  it("turns 48 kHz into 24 kHz: half the samples, the tone kept", () => {
    const out = new Resampler(48000).process(tone(48000, 440, 4800));
    expect(out.length).toBe(2400);
    const expected = tone(24000, 440, 2400);
    // Each output sample is the mean of two inputs: a quarter-sample phase shift, nothing more.
    for (let i = 10; i < 2390; i++) expect(Math.abs(out[i] - expected[i])).toBeLessThan(0.04);
  });

  it("gives the same output however the input is cut (state carries across blocks)", () => {
    for (const rate of [44100, 48000, 16000, 8000]) {
      const input = tone(rate, 300, rate / 10);
      const whole = new Resampler(rate).process(input);
      const r = new Resampler(rate);
      const parts: number[] = [];
      for (let i = 0; i < input.length; i += 128) parts.push(...r.process(input.subarray(i, i + 128)));
      expect([rate, parts.length]).toEqual([rate, whole.length]);
      for (let i = 0; i < whole.length; i++) expect(parts[i]).toBeCloseTo(whole[i], 5);
      // 100 ms in, about 100 ms (2400 samples) out, whatever the device rate.
      expect(Math.abs(whole.length - 2400)).toBeLessThanOrEqual(2);
    }
  });

  it("upsamples 16 kHz by interpolation without losing the level", () => {
    const out = new Resampler(16000).process(tone(16000, 200, 1600));
    expect(out.length).toBe(2400);
    expect(rms(out.subarray(10))).toBeCloseTo(rms(tone(24000, 200, 2390)), 2);
  });

  it("averages away a tone above the 12 kHz Nyquist limit of 24 kHz more than a plain decimation would", () => {
    const out = new Resampler(48000).process(tone(48000, 23000, 4800));
    expect(rms(out)).toBeLessThan(0.05);
  });

  it("refuses a rate of zero", () => {
    expect(() => new Resampler(0)).toThrow(RangeError);
  });
});

describe("PCM16", () => {
  it("encodes little-endian, clamps, and decodes back", () => {
    const bytes = encodePcm16(Float32Array.from([0, 1, -1, 0.5, 2, -2]));
    expect(Array.from(bytes.subarray(0, 6))).toEqual([0x00, 0x00, 0xff, 0x7f, 0x00, 0x80]);
    const back = decodePcm16(bytes);
    expect(back.length).toBe(6);
    expect(back[1]).toBeCloseTo(1, 3);
    expect(back[2]).toBe(-1);
    expect(back[3]).toBeCloseTo(0.5, 3);
    expect(back[4]).toBeCloseTo(1, 3); // clamped
    expect(back[5]).toBe(-1);
  });

  it("ignores an odd trailing byte and survives base64 both ways", () => {
    expect(decodePcm16(new Uint8Array([1, 0, 9])).length).toBe(1);
    const bytes = encodePcm16(tone(24000, 440, 2400));
    expect(bytes.length).toBe(4800); // 100 ms of PCM16 mono 24 kHz
    const text = toBase64(bytes);
    expect(text).toBe(Buffer.from(bytes).toString("base64"));
    expect(fromBase64(text)).toEqual(bytes);
  });
});

describe("voice chunk", () => {
  it("is separate from widget.js and within 10 KB gzip, with its worklet", () => {
    const voice = new URL("../dist/voice.js", import.meta.url);
    const worklet = new URL("../dist/voice-worklet.js", import.meta.url);
    expect(existsSync(voice) && existsSync(worklet), "run npm run build first").toBe(true);
    expect(gzipSync(readFileSync(voice), { level: 9 }).length).toBeLessThanOrEqual(10 * 1024);
    const widget = readFileSync(new URL("../dist/widget.js", import.meta.url), "utf8");
    expect(widget).not.toContain("getUserMedia"); // the microphone code is only in the chunk
    expect(readFileSync(worklet, "utf8")).toContain("registerProcessor");
  });
});
