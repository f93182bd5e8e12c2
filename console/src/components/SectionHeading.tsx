import type { ReactNode } from "react";

const STYLE = { fontSize: 16, margin: 0 } as const;

/** A card's title as a level-2 heading under the screen's h1: screen readers navigate by headings. */
export function SectionHeading({ children }: { children: ReactNode }) {
  return <h2 style={STYLE}>{children}</h2>;
}
