import type { TFunction } from "i18next";

import type { Problem } from "./schemaValidator";

/** A schema problem in the operator's language: `validation.<keyword>` with the schema's bound. */
export function problemText(problem: Problem, t: TFunction): string {
  const params = { ...problem.params } as Record<string, unknown>;
  if (Array.isArray(params.allowed)) params.allowed = (params.allowed as unknown[]).slice(0, 8).join(", ");
  if (params.allowed !== undefined && typeof params.allowed !== "string") params.allowed = JSON.stringify(params.allowed);
  return t(`validation.${problem.keyword}`, { ...params, defaultValue: t("validation.invalid") });
}
