/**
 * CSV for a spreadsheet: RFC 4180 quoting, CRLF lines, a byte-order mark so Excel reads Chinese
 * as UTF-8, and text that starts like a formula (= + - @) prefixed with ' so that opening the file
 * never runs one (CSV injection). Numbers are written as they are.
 */
export type Cell = string | number | boolean | null | undefined;

const FORMULA = /^[=+\-@\t\r]/;

export function csvCell(value: Cell): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "";
  let text = String(value);
  if (FORMULA.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(rows: Cell[][]): string {
  return "\uFEFF" + rows.map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

export function downloadCsv(filename: string, rows: Cell[][]): void {
  const url = URL.createObjectURL(new Blob([toCsv(rows)], { type: "text/csv;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}

/** One voucher code per line, or the first column of a CSV (a header row named "code" is skipped). */
export function parseCodes(text: string): { codes: string[]; duplicates: number; tooLong: string[] } {
  const seen = new Set<string>();
  let duplicates = 0;
  const tooLong: string[] = [];
  for (const [index, line] of text.replace(/^\uFEFF/, "").split(/\r?\n/).entries()) {
    const first = (line.split(",")[0] ?? "").trim().replace(/^"(.*)"$/, "$1").trim();
    if (!first || (index === 0 && /^code$/i.test(first))) continue;
    if (first.length > 128) {
      tooLong.push(first);
      continue;
    }
    if (seen.has(first)) duplicates++;
    else seen.add(first);
  }
  return { codes: [...seen], duplicates, tooLong };
}

/** Batches of at most `size` (the API takes 1,000 codes a call). */
export function batches<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
