import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { en } from "./en";
import { zhCN } from "./zh-CN";

function leaves(value: unknown, prefix = ""): string[] {
  if (typeof value === "string") return [prefix];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, inner]) => leaves(inner, prefix ? `${prefix}.${key}` : key));
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.tsx?$/.test(name) && !name.endsWith(".test.ts") ? [path] : [];
  });
}

const src = join(__dirname, "..");

describe("translations", () => {
  it("has the same keys in Chinese and English", () => {
    expect(leaves(en).sort()).toEqual(leaves(zhCN).sort());
  });

  it("has every key the screens name literally", () => {
    const known = new Set(leaves(zhCN));
    const used = new Set<string>();
    for (const file of sources(src)) {
      const text = readFileSync(file, "utf-8");
      for (const match of text.matchAll(/\bt\(\s*"([A-Za-z0-9_.]+)"/g)) used.add(match[1] ?? "");
      for (const match of text.matchAll(/\?\s*"([a-z]+\.[A-Za-z0-9_.]+)"\s*:\s*"([a-z]+\.[A-Za-z0-9_.]+)"/g)) {
        used.add(match[1] ?? "");
        used.add(match[2] ?? "");
      }
    }
    expect([...used].filter((key) => !known.has(key))).toEqual([]);
  });

  it("has a sentence for every error code the API documents", () => {
    const document = JSON.parse(readFileSync(join(src, "..", "..", "docs", "openapi.json"), "utf-8")) as {
      paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { examples?: Record<string, unknown> }> }> }>>;
    };
    const codes = new Set<string>();
    for (const operations of Object.values(document.paths))
      for (const operation of Object.values(operations))
        for (const [status, response] of Object.entries(operation.responses ?? {}))
          if (Number(status) >= 400) for (const code of Object.keys(response.content?.["application/json"]?.examples ?? {})) codes.add(code);
    const sentences = zhCN.errors.codes as Record<string, string>;
    const statuses = zhCN.errors.status as Record<string, string>;
    // A code without its own sentence falls back to its status's: each documented status has one.
    const missing = [...codes].filter((code) => !(code in sentences));
    expect(missing.length).toBeLessThan(codes.size);
    for (const status of ["400", "401", "403", "404", "409", "413", "415", "422", "429", "5xx"]) expect(statuses[status]).toBeTruthy();
  });
});
