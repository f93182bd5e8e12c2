/**
 * Which of a form's fields a problem at `path` belongs on: the field itself; else the fields inside
 * it (a problem about `window` as a whole goes on its start and end); else the nearest field around
 * it (a problem deep in the pattern editor's JSON goes on the editor).
 */
import type { Path } from "./schemaValidator";

export type FieldName = (string | number)[];

const key = (path: Path) => path.map(String).join(".");

export function fieldsFor(path: Path, fields: FieldName[]): FieldName[] {
  const wanted = key(path);
  const exact = fields.filter((field) => key(field) === wanted);
  if (exact.length) return exact;
  const inside = fields.filter((field) => key(field).startsWith(wanted + "."));
  if (inside.length) return inside;
  for (let length = path.length - 1; length > 0; length--) {
    const around = key(path.slice(0, length));
    const found = fields.filter((field) => key(field) === around);
    if (found.length) return found;
  }
  return [];
}

export function sameField(a: FieldName, b: FieldName): boolean {
  return key(a) === key(b);
}

export { key as fieldKey };
