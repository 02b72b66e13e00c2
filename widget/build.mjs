// Builds dist/widget.js: one minified IIFE (no runtime dependencies), and writes its metafile for the size check.
import { build } from "esbuild";
import { mkdirSync, writeFileSync } from "node:fs";

mkdirSync("dist", { recursive: true });
const result = await build({
  entryPoints: ["src/widget.ts"],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  outfile: "dist/widget.js",
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});
writeFileSync("dist/meta.json", JSON.stringify(result.metafile));
