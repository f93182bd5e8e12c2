/**
 * Live validation for an antd form whose values mirror a request body: the schema's problems on
 * the fields as the operator types (a field once touched, every field after a save was tried), and
 * the API's own details on the fields they name, kept until that field changes. While an API
 * problem stands, `blocked` is true: the same refused body is not sent twice.
 */
import type { FormInstance } from "antd";
import { useCallback, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";

import { ApiError } from "../api/client";
import { asApiDetails, resolveField } from "./apiDetails";
import { fieldKey, fieldsFor, type FieldName } from "./fieldMatch";
import { problemText } from "./messages";
import type { Path, Problem } from "./schemaValidator";

interface ApiProblem {
  path: Path;
  message: string;
  /** The field's value when the API refused it (JSON): the problem stands while it is unchanged. */
  snapshot: string;
}

function valueAt(values: unknown, path: Path): unknown {
  let here: unknown = values;
  for (const segment of path) {
    if (here === null || typeof here !== "object") return undefined;
    here = (here as Record<string | number, unknown>)[segment];
  }
  return here;
}

export interface ValidatedForm<V> {
  values: V;
  problems: Problem[];
  /** Every problem is shown (a save or "next" was tried). */
  revealed: boolean;
  /** Problems no field shows (shown beside the form once a save was tried). */
  general: string[];
  blocked: boolean;
  onValuesChange: () => void;
  /** Shows every problem (a save or "next" was tried); whether there are any. */
  revealAll: () => boolean;
  /** An API refusal: its details placed on fields; whether any was. */
  takeApiError: (error: unknown, body: unknown) => Path[];
  reset: () => void;
}

export function useValidatedForm<V extends object>(form: FormInstance<V>, initial: V, problemsOf: (values: V) => Problem[]): ValidatedForm<V> {
  const { t } = useTranslation();
  const [values, setValues] = useState<V>(initial);
  const [showAll, setShowAll] = useState(false);
  const [apiProblems, setApiProblems] = useState<ApiProblem[]>([]);
  const problems = useMemo(() => problemsOf(values), [problemsOf, values]);

  const standing = useMemo(
    () => apiProblems.filter((p) => JSON.stringify(valueAt(values, p.path) ?? null) === p.snapshot),
    [apiProblems, values],
  );

  const sync = useCallback(
    (current: V, all: boolean, api: ApiProblem[]) => {
      const fields = form.getFieldsError().map((f) => f.name as FieldName);
      const errors = new Map<string, { name: FieldName; errors: string[] }>(fields.map((name) => [fieldKey(name), { name, errors: [] }]));
      for (const problem of problemsOf(current)) {
        for (const name of fieldsFor(problem.path, fields)) {
          if (all || form.isFieldTouched(name as never)) errors.get(fieldKey(name))?.errors.push(problemText(problem, t));
        }
      }
      for (const problem of api) {
        if (JSON.stringify(valueAt(current, problem.path) ?? null) !== problem.snapshot) continue;
        for (const name of fieldsFor(problem.path, fields)) errors.get(fieldKey(name))?.errors.unshift(problem.message);
      }
      // Only the fields whose errors change: re-rendering every field of a big form on every
      // keystroke is slow.
      const changed = [...errors.values()]
        .map(({ name, errors: list }) => ({ name, errors: [...new Set(list)] }))
        .filter(({ name, errors: list }) => JSON.stringify(form.getFieldError(name as never)) !== JSON.stringify(list));
      if (changed.length) form.setFields(changed as never);
    },
    [form, problemsOf, t],
  );

  const onValuesChange = useCallback(() => {
    const current = form.getFieldsValue(true) as V;
    setValues(current);
    sync(current, showAll, apiProblems);
  }, [form, sync, showAll, apiProblems]);

  const revealAll = useCallback(() => {
    const current = form.getFieldsValue(true) as V;
    setValues(current);
    setShowAll(true);
    sync(current, true, apiProblems);
    return problemsOf(current).length > 0;
  }, [form, sync, apiProblems, problemsOf]);

  const takeApiError = useCallback(
    (error: unknown, body: unknown): Path[] => {
      if (!(error instanceof ApiError)) return [];
      const current = form.getFieldsValue(true) as V;
      const fields = form.getFieldsError().map((f) => f.name as FieldName);
      const placed: ApiProblem[] = [];
      for (const detail of asApiDetails(error.details)) {
        if (detail.in && detail.in !== "body") continue;
        const path = resolveField(detail.field, body);
        if (!path || fieldsFor(path, fields).length === 0) continue;
        placed.push({ path, message: detail.problem, snapshot: JSON.stringify(valueAt(current, path) ?? null) });
      }
      setApiProblems(placed);
      sync(current, true, placed);
      setShowAll(true);
      return placed.map((p) => p.path);
    },
    [form, sync],
  );

  const general = useMemo(() => {
    if (!showAll) return [];
    const fields = form.getFieldsError().map((f) => f.name as FieldName);
    return problems.filter((p) => fieldsFor(p.path, fields).length === 0).map((p) => `${p.path.join(".") || "—"}: ${problemText(p, t)}`);
  }, [showAll, problems, form, t]);

  const reset = useCallback(() => {
    setApiProblems([]);
    setShowAll(false);
  }, []);

  return { values, problems, revealed: showAll, general, blocked: standing.length > 0, onValuesChange, revealAll, takeApiError, reset };
}
