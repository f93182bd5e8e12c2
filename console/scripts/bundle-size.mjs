#!/usr/bin/env node
/**
 * The initial bundle's size, gzipped: the JavaScript that index.html loads before the first screen
 * (the entry chunk and the chunks it imports statically), as Vite's manifest lists them. Lazy
 * chunks (every screen, ECharts, the forms' schemas) are not part of it. Prints a table and a last
 * line `initial-js-gzip-bytes <n>`; exits 1 over the budget (400 KB), or with --json prints JSON.
 */
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const BUDGET_BYTES = 400 * 1024;
const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const manifest = JSON.parse(readFileSync(join(dist, ".vite", "manifest.json"), "utf-8"));

const entry = Object.entries(manifest).find(([, chunk]) => chunk.isEntry);
if (!entry) throw new Error("no entry chunk in dist/.vite/manifest.json");

const initial = new Set();
const css = new Set();
(function visit(key) {
  const chunk = manifest[key];
  if (!chunk || initial.has(chunk.file)) return;
  initial.add(chunk.file);
  for (const file of chunk.css ?? []) css.add(file);
  for (const imported of chunk.imports ?? []) visit(imported);
})(entry[0]);

const gzip = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
const rows = [...initial].map((file) => ({ file, raw: readFileSync(join(dist, file)).length, gzip: gzip(file) }));
const total = rows.reduce((sum, row) => sum + row.gzip, 0);
const lazy = Object.values(manifest).filter((chunk) => chunk.file.endsWith(".js") && !initial.has(chunk.file));
const lazyTotal = lazy.reduce((sum, chunk) => sum + gzip(chunk.file), 0);
const cssTotal = [...css].reduce((sum, file) => sum + gzip(file), 0);

if (process.argv.includes("--json")) {
  console.log(JSON.stringify({ initialJsGzipBytes: total, budgetBytes: BUDGET_BYTES, chunks: rows, lazyChunks: lazy.length, lazyJsGzipBytes: lazyTotal, cssGzipBytes: cssTotal }));
} else {
  const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
  console.log("initial JS (loaded by index.html before the first screen):");
  for (const row of rows) console.log(`  ${row.file.padEnd(44)} ${kb(row.raw).padStart(10)} raw ${kb(row.gzip).padStart(10)} gzip`);
  console.log(`  total ${kb(total)} gzip (budget ${kb(BUDGET_BYTES)}); CSS ${kb(cssTotal)} gzip`);
  console.log(`lazy: ${lazy.length} chunks, ${kb(lazyTotal)} gzip in all (screens, charts, form schemas)`);
  console.log(`initial-js-gzip-bytes ${total}`);
}
if (total > BUDGET_BYTES) {
  console.error(`the initial bundle is ${total} bytes gzipped, over the budget of ${BUDGET_BYTES}`);
  process.exit(1);
}
