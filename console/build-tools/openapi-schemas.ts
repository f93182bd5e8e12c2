/**
 * `virtual:openapi-schemas`: the document's `components.schemas`, as the forms validate against
 * them while the operator types. Read from docs/openapi.json at build time, so the console checks
 * exactly what the API will check, with no copy to keep in step; descriptions and examples are
 * dropped (they are for people reading the document, and would triple the chunk).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import type { Plugin } from "vite";

const VIRTUAL_ID = "virtual:openapi-schemas";
const RESOLVED_ID = "\0" + VIRTUAL_ID;
export const DOCUMENT = fileURLToPath(new URL("../../docs/openapi.json", import.meta.url));
const DROPPED = new Set(["description", "examples", "example", "title"]);

export function stripForValidation(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripForValidation);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([key]) => !DROPPED.has(key))
        .map(([key, inner]) => [key, stripForValidation(inner)]),
    );
  }
  return value;
}

export function openapiSchemas(): Plugin {
  return {
    name: "openapi-schemas",
    resolveId(id) {
      return id === VIRTUAL_ID ? RESOLVED_ID : undefined;
    },
    load(id) {
      if (id !== RESOLVED_ID) return undefined;
      this.addWatchFile(DOCUMENT);
      const document = JSON.parse(readFileSync(DOCUMENT, "utf-8")) as { components: { schemas: unknown } };
      return `export default ${JSON.stringify(stripForValidation(document.components.schemas))};`;
    },
  };
}
