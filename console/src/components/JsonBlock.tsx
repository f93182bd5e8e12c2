/** JSON for reading (a definition, an audit entry): scrollable, so reachable and scrollable by keyboard too. */
export function JsonBlock({ value, label, maxHeight = 320, testId }: { value: unknown; label: string; maxHeight?: number; testId?: string }) {
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return (
    <pre
      tabIndex={0}
      role="region"
      aria-label={label}
      data-testid={testId}
      style={{ background: "#fafafa", padding: 12, maxHeight, overflow: "auto", fontSize: 12, margin: 0 }}
    >
      {text}
    </pre>
  );
}
