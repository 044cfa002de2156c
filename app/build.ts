/**
 * Builds the owner's Mini App into `public/dashboard/` (served by Workers static assets): the page's TypeScript
 * and uPlot bundled by esbuild into one ES module, and uPlot's stylesheet copied beside it. Nothing is loaded
 * from a CDN. Run by `wrangler dev` / `wrangler deploy` (wrangler.jsonc `build`) and `npm run build:app`.
 */
import { copyFileSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";

const root = path.resolve(import.meta.dirname, "..");
const out = path.join(root, "public", "dashboard");

await build({
  entryPoints: [path.join(root, "app", "dashboard.ts")],
  outfile: path.join(out, "dashboard.js"),
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: true,
  legalComments: "eof",
  logLevel: "warning",
});
copyFileSync(path.join(root, "node_modules", "uplot", "dist", "uPlot.min.css"), path.join(out, "uPlot.min.css"));
