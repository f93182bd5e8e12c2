/** Amounts in minor units (分) as the API keeps them, shown in major units in the person's language. */
export function formatMinor(amountMinor: number | null | undefined, currency: string | null | undefined, language: string): string {
  if (amountMinor === null || amountMinor === undefined) return "—";
  const code = currency ?? "CNY";
  try {
    return new Intl.NumberFormat(language, { style: "currency", currency: code }).format(amountMinor / 100);
  } catch {
    return `${(amountMinor / 100).toFixed(2)} ${code}`;
  }
}

export function formatNumber(value: number | null | undefined, language: string, digits = 0): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return new Intl.NumberFormat(language, { maximumFractionDigits: digits }).format(value);
}

export function formatPercent(ratio: number | null | undefined, language: string, digits = 1): string {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return "—";
  return new Intl.NumberFormat(language, { style: "percent", maximumFractionDigits: digits }).format(ratio);
}

export function formatInstant(iso: string | null | undefined, language: string): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short" }).format(date);
}

export function formatDay(iso: string | null | undefined, language: string): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(language, { dateStyle: "medium" }).format(date);
}
