/**
 * The API's validation details (`{field, in, problem}`) put back on the form fields they are about.
 * `field` is pydantic's location joined with dots; for a tagged union it names the branch too
 * (`trigger.event.minAmountMinor`, `variants.0.actions.0.issue_coupon.templateId`), which is not a
 * key of the body: such a segment is skipped when the object there carries it as its tag.
 */
import type { Path } from "./schemaValidator";

export interface ApiDetail {
  field: string;
  in?: string;
  problem: string;
}

export interface PlacedDetails {
  /** Problems on a field the form has. */
  fields: { path: Path; messages: string[] }[];
  /** Problems about the body as a whole, or a field the form does not show. */
  general: string[];
}

const TAG_KEYS = ["type", "kind", "mode"];

export function asApiDetails(details: unknown): ApiDetail[] {
  if (!Array.isArray(details)) return [];
  return details.flatMap((detail) => {
    if (typeof detail !== "object" || detail === null) return [];
    const { field, problem } = detail as { field?: unknown; problem?: unknown };
    if (typeof field !== "string" || typeof problem !== "string") return [];
    const where = (detail as { in?: unknown }).in;
    return [{ field, problem, ...(typeof where === "string" ? { in: where } : {}) }];
  });
}

/** The path in `body` that `field` names, or null when the body has no such place. */
export function resolveField(field: string, body: unknown): Path | null {
  if (field === "" || field === "(body)") return null;
  const path: Path = [];
  let here: unknown = body;
  for (const segment of field.split(".")) {
    if (Array.isArray(here)) {
      const index = Number(segment);
      if (!Number.isInteger(index)) return null;
      path.push(index);
      here = here[index];
      continue;
    }
    if (typeof here !== "object" || here === null) {
      // A missing nested object: the problem is about the field, the deepest place the body has.
      path.push(segment);
      here = undefined;
      continue;
    }
    const object = here as Record<string, unknown>;
    if (segment in object) {
      path.push(segment);
      here = object[segment];
    } else if (TAG_KEYS.some((tag) => object[tag] === segment)) {
      continue; // the union's branch, named by its tag
    } else {
      path.push(segment);
      here = undefined;
    }
  }
  return path;
}

/**
 * Splits the details into those on fields the form shows (`known(path)`) and the rest. Only
 * `in: "body"` problems go on fields: a query or header problem is the console's, not the operator's.
 */
export function placeDetails(details: ApiDetail[], body: unknown, known: (path: Path) => boolean): PlacedDetails {
  const fields = new Map<string, { path: Path; messages: string[] }>();
  const general: string[] = [];
  for (const detail of details) {
    const path = detail.in === undefined || detail.in === "body" ? resolveField(detail.field, body) : null;
    if (path && known(path)) {
      const key = path.join(".");
      const entry = fields.get(key) ?? { path, messages: [] };
      entry.messages.push(detail.problem);
      fields.set(key, entry);
    } else {
      general.push(detail.field && detail.field !== "(body)" ? `${detail.field}: ${detail.problem}` : detail.problem);
    }
  }
  return { fields: [...fields.values()], general };
}
