// Bundles the explorer into dist/ (committed: `cargo build` embeds it without Node or network).
// Deterministic: the same sources and the pinned esbuild give the same bytes.
import * as esbuild from "esbuild";

const banner =
  "/*! Institute Registry explorer. Bundles uPlot (MIT License, Copyright (c) 2022 Leon Sorokin) " +
  "and openapi-fetch (MIT License, Copyright (c) 2023 Drew Powers). */";
const common = { bundle: true, minify: true, logLevel: "warning", legalComments: "eof" };
await esbuild.build({
  ...common,
  entryPoints: ["src/main.ts"],
  format: "esm",
  target: "es2020",
  outfile: "dist/explorer.js",
  banner: { js: banner },
});
await esbuild.build({ ...common, entryPoints: ["src/style.css"], outfile: "dist/explorer.css", banner: { css: banner } });
