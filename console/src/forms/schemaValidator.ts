/**
 * Validates a request body against the API's own JSON Schemas (docs/openapi.json, 2020-12 as
 * pydantic writes it) while the operator types. A small interpreter rather than a generic
 * validator: it knows OpenAPI's `discriminator` (so an error names the right branch of a union,
 * not every branch), it compiles nothing at run time (a strict Content-Security-Policy forbids
 * `eval`), and its problems carry a keyword and parameters that the translations turn into words.
 * The API validates again; its answer wins (see apiDetails.ts).
 */

export type Path = (string | number)[];

export interface Problem {
  path: Path;
  keyword: string;
  params: Record<string, unknown>;
}

type Schema = Record<string, unknown>;
export type Schemas = Record<string, unknown>;

const REF_PREFIX = "#/components/schemas/";

const FORMATS: Record<string, RegExp> = {
  "date-time": /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/,
  date: /^\d{4}-\d{2}-\d{2}$/,
  time: /^\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?$/,
};

const patterns = new Map<string, RegExp>();
function regex(pattern: string): RegExp {
  let compiled = patterns.get(pattern);
  if (!compiled) {
    compiled = new RegExp(pattern, "u");
    patterns.set(pattern, compiled);
  }
  return compiled;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  return actual === type || (type === "number" && actual === "integer");
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeOf(value) === "object";
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class SchemaValidator {
  constructor(private readonly schemas: Schemas) {}

  /** Every problem of `value` against the named schema (`CampaignRequest`), outermost first. */
  validate(name: string, value: unknown): Problem[] {
    const problems: Problem[] = [];
    this.check(this.named(name), value, [], problems);
    return problems;
  }

  private named(name: string): Schema {
    const schema = this.schemas[name];
    if (!isObject(schema)) throw new Error(`no schema ${name} in the document`);
    return schema;
  }

  private resolve(schema: Schema): Schema {
    const ref = schema.$ref;
    if (typeof ref === "string" && ref.startsWith(REF_PREFIX)) {
      // A $ref beside other keywords (a `default`) keeps them; the referenced schema adds its own.
      const { $ref: _ref, ...rest } = schema;
      return { ...this.resolve(this.named(ref.slice(REF_PREFIX.length))), ...rest };
    }
    return schema;
  }

  private check(raw: Schema, value: unknown, path: Path, out: Problem[]): void {
    const schema = this.resolve(raw);
    const add = (keyword: string, params: Record<string, unknown> = {}, at: Path = path) => out.push({ path: at, keyword, params });

    if (Array.isArray(schema.anyOf) || Array.isArray(schema.oneOf)) {
      const branches = (schema.anyOf ?? schema.oneOf) as Schema[];
      this.checkUnion(schema, branches, value, path, out);
    }
    if (Array.isArray(schema.allOf)) for (const inner of schema.allOf as Schema[]) this.check(inner, value, path, out);
    if (isObject(schema.not) && this.passes(schema.not, value)) add("not", { schema: schema.not });
    if ("const" in schema && !equal(schema.const, value)) add("const", { allowed: schema.const });
    if (Array.isArray(schema.enum) && !schema.enum.some((option) => equal(option, value))) add("enum", { allowed: schema.enum });

    const type = schema.type;
    if (typeof type === "string" && !matchesType(value, type)) {
      add("type", { type });
      return;
    }
    if (Array.isArray(type) && !type.some((t) => typeof t === "string" && matchesType(value, t))) {
      add("type", { type: type.join("|") });
      return;
    }

    if (typeof value === "string") this.checkString(schema, value, add);
    if (typeof value === "number") this.checkNumber(schema, value, add);
    if (Array.isArray(value)) this.checkArray(schema, value, path, out, add);
    if (isObject(value)) this.checkObject(schema, value, path, out, add);
  }

  private checkUnion(schema: Schema, branches: Schema[], value: unknown, path: Path, out: Problem[]): void {
    const discriminator = schema.discriminator as { propertyName: string; mapping?: Record<string, string> } | undefined;
    if (discriminator && isObject(value)) {
      const tag = value[discriminator.propertyName];
      const target = typeof tag === "string" ? discriminator.mapping?.[tag] : undefined;
      if (!target) {
        out.push({
          path: [...path, discriminator.propertyName],
          keyword: tag === undefined ? "required" : "enum",
          params: { allowed: Object.keys(discriminator.mapping ?? {}) },
        });
        return;
      }
      this.check({ $ref: target }, value, path, out);
      return;
    }
    const results = branches.map((branch) => {
      const problems: Problem[] = [];
      this.check(branch, value, path, problems);
      return problems;
    });
    if (results.some((problems) => problems.length === 0)) return;
    // `X | null` and the like: report what the closest branch wants, not "matches none of".
    const nonNull = branches.map((b, i) => ({ b: this.resolve(b), i })).filter(({ b }) => b.type !== "null");
    const candidates = value === null ? results : nonNull.map(({ i }) => results[i] ?? []);
    const closest = candidates.reduce((best, problems) => (problems.length < best.length ? problems : best));
    out.push(...closest);
  }

  private passes(schema: Schema, value: unknown): boolean {
    const problems: Problem[] = [];
    this.check(schema, value, [], problems);
    return problems.length === 0;
  }

  private checkString(schema: Schema, value: string, add: (k: string, p?: Record<string, unknown>) => void): void {
    const length = [...value].length;
    if (typeof schema.minLength === "number" && length < schema.minLength) {
      add(schema.minLength === 1 && length === 0 ? "required" : "minLength", { limit: schema.minLength });
    }
    if (typeof schema.maxLength === "number" && length > schema.maxLength) add("maxLength", { limit: schema.maxLength });
    if (typeof schema.pattern === "string" && !regex(schema.pattern).test(value)) add("pattern", { pattern: schema.pattern });
    const format = typeof schema.format === "string" ? FORMATS[schema.format] : undefined;
    if (format && !format.test(value)) add("format", { format: schema.format });
  }

  private checkNumber(schema: Schema, value: number, add: (k: string, p?: Record<string, unknown>) => void): void {
    if (typeof schema.minimum === "number" && value < schema.minimum) add("minimum", { limit: schema.minimum });
    if (typeof schema.maximum === "number" && value > schema.maximum) add("maximum", { limit: schema.maximum });
    if (typeof schema.exclusiveMinimum === "number" && value <= schema.exclusiveMinimum) add("exclusiveMinimum", { limit: schema.exclusiveMinimum });
    if (typeof schema.exclusiveMaximum === "number" && value >= schema.exclusiveMaximum) add("exclusiveMaximum", { limit: schema.exclusiveMaximum });
  }

  private checkArray(schema: Schema, value: unknown[], path: Path, out: Problem[], add: (k: string, p?: Record<string, unknown>) => void): void {
    if (typeof schema.minItems === "number" && value.length < schema.minItems) add("minItems", { limit: schema.minItems });
    if (typeof schema.maxItems === "number" && value.length > schema.maxItems) add("maxItems", { limit: schema.maxItems });
    if (isObject(schema.items)) value.forEach((item, index) => this.check(schema.items as Schema, item, [...path, index], out));
  }

  private checkObject(
    schema: Schema,
    value: Record<string, unknown>,
    path: Path,
    out: Problem[],
    add: (k: string, p?: Record<string, unknown>, at?: Path) => void,
  ): void {
    const properties = (isObject(schema.properties) ? schema.properties : {}) as Record<string, Schema>;
    for (const name of (schema.required as string[] | undefined) ?? []) {
      if (!(name in value) || value[name] === undefined) add("required", {}, [...path, name]);
    }
    const patternProperties = (isObject(schema.patternProperties) ? schema.patternProperties : {}) as Record<string, Schema>;
    const keys = Object.keys(value).filter((k) => value[k] !== undefined);
    if (typeof schema.maxProperties === "number" && keys.length > schema.maxProperties) add("maxProperties", { limit: schema.maxProperties });
    for (const key of keys) {
      const inner = value[key];
      if (isObject(schema.propertyNames)) {
        const nameProblems: Problem[] = [];
        this.check(schema.propertyNames, key, [...path, key], nameProblems);
        if (nameProblems.length) add("propertyName", { name: key }, [...path, key]);
      }
      const own = properties[key];
      const byPattern = Object.entries(patternProperties).filter(([p]) => regex(p).test(key));
      if (own) this.check(own, inner, [...path, key], out);
      for (const [, patterned] of byPattern) this.check(patterned, inner, [...path, key], out);
      if (!own && byPattern.length === 0) {
        if (schema.additionalProperties === false) add("additionalProperties", { name: key }, [...path, key]);
        else if (isObject(schema.additionalProperties)) this.check(schema.additionalProperties, inner, [...path, key], out);
      }
    }
  }
}

/** `["variants", 0, "weightPercent"]` as antd's Form names a field. */
export function pathKey(path: Path): string {
  return path.join(".");
}
