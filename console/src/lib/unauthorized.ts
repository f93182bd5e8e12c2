/** One place the API client reports a 401 to; the AuthProvider answers it (sign in again). */
let handler: (() => void) | null = null;

export function setUnauthorizedHandler(next: () => void): () => void {
  handler = next;
  return () => {
    if (handler === next) handler = null;
  };
}

export function reportUnauthorized(): void {
  handler?.();
}
