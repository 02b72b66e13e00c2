// Builds dist/widget.js (text chat: one minified IIFE, no runtime dependencies), dist/voice.js (the voice chunk, loaded on
// the first microphone click) and dist/voice-worklet.js (its capture AudioWorklet), and writes the metafile for the size check.
import { build } from "esbuild";
import { mkdirSync, writeFileSync } from "node:fs";

mkdirSync("dist", { recursive: true });
const result = await build({
  entryPoints: { widget: "src/widget.ts", voice: "src/voice/voice.ts", "voice-worklet": "src/voice/worklet.ts" },
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  outdir: "dist",
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});
writeFileSync("dist/meta.json", JSON.stringify(result.metafile));
