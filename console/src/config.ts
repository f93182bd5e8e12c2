/**
 * The console's runtime configuration: `config.json` beside index.html, written at deploy time (the
 * API's URL, the Cognito client), so one build serves every environment. The local cloud serves
 * public/config.json as it is: the API on the same origin, and the development sign-in.
 */

export type AuthConfig =
  | { mode: "dev" }
  | {
      mode: "cognito";
      /** The Hosted UI's domain: `https://<prefix>.auth.<region>.amazoncognito.com` or the bank's own. */
      domain: string;
      clientId: string;
      /** Defaults to `openid email profile`. */
      scopes?: string[];
    };

export interface ConsoleConfig {
  /** Absolute, without a trailing slash: where `/v1/...` is. */
  apiUrl: string;
  auth: AuthConfig;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Checks what config.json holds; relative API URLs are taken relative to the console's origin. */
export function parseConfig(raw: unknown, origin: string): ConsoleConfig {
  if (typeof raw !== "object" || raw === null) throw new ConfigError("config.json is not an object");
  const { apiUrl, auth } = raw as { apiUrl?: unknown; auth?: unknown };
  if (typeof apiUrl !== "string" || apiUrl === "") throw new ConfigError("config.json: apiUrl is missing");
  const url = new URL(apiUrl, origin).toString().replace(/\/+$/, "");
  if (typeof auth !== "object" || auth === null) throw new ConfigError("config.json: auth is missing");
  const mode = (auth as { mode?: unknown }).mode;
  if (mode === "dev") return { apiUrl: url, auth: { mode: "dev" } };
  if (mode === "cognito") {
    const { domain, clientId, scopes } = auth as { domain?: unknown; clientId?: unknown; scopes?: unknown };
    if (typeof domain !== "string" || !/^https:\/\/[^/]+$/.test(domain.replace(/\/+$/, ""))) {
      throw new ConfigError("config.json: auth.domain must be the Hosted UI's https:// origin");
    }
    if (typeof clientId !== "string" || clientId === "") throw new ConfigError("config.json: auth.clientId is missing");
    const scopeList = Array.isArray(scopes) && scopes.every((s) => typeof s === "string") ? (scopes as string[]) : undefined;
    return {
      apiUrl: url,
      auth: { mode: "cognito", domain: domain.replace(/\/+$/, ""), clientId, ...(scopeList ? { scopes: scopeList } : {}) },
    };
  }
  throw new ConfigError(`config.json: auth.mode must be "dev" or "cognito", not ${JSON.stringify(mode)}`);
}

export async function loadConfig(): Promise<ConsoleConfig> {
  // no-store: a redeploy that changes the API URL or the client must take effect on the next load.
  const response = await fetch(`${import.meta.env.BASE_URL}config.json`, { cache: "no-store" });
  if (!response.ok) throw new ConfigError(`config.json: HTTP ${response.status}`);
  return parseConfig(await response.json(), window.location.origin);
}
