/**
 * The signed-in person: an ID token (short-lived: 15 minutes from the local sign-in, an hour from
 * Cognito), kept in sessionStorage so that a reload keeps the tab signed in and closing it signs
 * out. No refresh token and no secret is ever stored: when the token lapses the person signs in
 * again (the Hosted UI's own session makes that one click).
 */

export const OPERATORS = "operators";
export const APPROVERS = "approvers";
/** 客户经理: their own tasks and book (/v1/rm); the token's subject is the manager. Not operators. */
export const RELATIONSHIP_MANAGERS = "relationship-managers";

export interface Session {
  token: string;
  subject: string;
  /** For display: Cognito's user name (a person's login), else the subject. */
  name: string;
  groups: string[];
  /** The operator's org unit (Cognito's custom:orgUnit): the org screens show its subtree. */
  orgUnit?: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

const KEY = "console.session";

function base64UrlDecode(segment: string): string {
  const base64 = segment.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(segment.length / 4) * 4, "=");
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** Reads a JWT's claims without verifying it: the API verifies; the console only decides what to show. */
export function sessionFromToken(token: string): Session {
  const payload = token.split(".")[1];
  if (!payload) throw new Error("not a JWT");
  const claims = JSON.parse(base64UrlDecode(payload)) as Record<string, unknown>;
  const rawGroups = claims["cognito:groups"];
  const groups = Array.isArray(rawGroups)
    ? rawGroups.filter((g): g is string => typeof g === "string")
    : typeof rawGroups === "string"
      ? rawGroups.split(",").filter(Boolean)
      : [];
  // `sub`, as the API names the caller (a campaign's author, an approval's approver); the
  // user name is only for display.
  const subject = String(claims.sub ?? "");
  const name = typeof claims["cognito:username"] === "string" ? claims["cognito:username"] : subject;
  const exp = typeof claims.exp === "number" ? claims.exp : 0;
  const orgUnit = typeof claims["custom:orgUnit"] === "string" ? claims["custom:orgUnit"] : undefined;
  return { token, subject, name, groups, ...(orgUnit ? { orgUnit } : {}), expiresAt: exp * 1000 };
}

export function isExpired(session: Session, now = Date.now()): boolean {
  return session.expiresAt <= now;
}

export function hasGroup(session: Session | null, group: string): boolean {
  return session !== null && session.groups.includes(group);
}

export function loadSession(storage: Storage = sessionStorage): Session | null {
  const token = storage.getItem(KEY);
  if (!token) return null;
  try {
    const session = sessionFromToken(token);
    return isExpired(session) ? null : session;
  } catch {
    return null;
  }
}

export function saveSession(session: Session, storage: Storage = sessionStorage): void {
  storage.setItem(KEY, session.token);
}

export function clearSession(storage: Storage = sessionStorage): void {
  storage.removeItem(KEY);
}

const RETURN_KEY = "console.returnTo";
const EXPIRED_KEY = "console.expired";

/** The sign-in lapsed (rather than the person signing out): the sign-in page says so. */
export function markExpired(storage: Storage = sessionStorage): void {
  storage.setItem(EXPIRED_KEY, "1");
}

export function wasExpired(storage: Storage = sessionStorage): boolean {
  return storage.getItem(EXPIRED_KEY) === "1";
}

export function clearExpired(storage: Storage = sessionStorage): void {
  storage.removeItem(EXPIRED_KEY);
}

/** Where to go back to after signing in again (the screen, with its draft in sessionStorage). */
export function rememberReturn(path: string, storage: Storage = sessionStorage): void {
  storage.setItem(RETURN_KEY, path);
}

export function takeReturn(storage: Storage = sessionStorage): string | null {
  const path = storage.getItem(RETURN_KEY);
  storage.removeItem(RETURN_KEY);
  // Only a path of this console: never an absolute URL somebody slipped in.
  return path && path.startsWith("/") && !path.startsWith("//") ? path : null;
}
