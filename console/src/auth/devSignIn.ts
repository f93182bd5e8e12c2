/**
 * The local cloud's development sign-in (infra/local): the identities it offers and a short-lived
 * token for one of them. Deployed stacks have no such endpoint; config.json selects Cognito there.
 */

export interface DevIdentity {
  subject: string;
  groups: string[];
  /** Their org unit (custom:orgUnit on the token), if any. */
  orgUnit?: string;
  /** A key of `signIn.identity.*` in the translations. */
  label: string;
}

const ENDPOINT = "/_local/dev-token";

export async function listDevIdentities(apiUrl: string): Promise<DevIdentity[]> {
  const response = await fetch(`${apiUrl}${ENDPOINT}`);
  if (!response.ok) throw new Error(`dev sign-in unavailable: HTTP ${response.status}`);
  const body = (await response.json()) as { identities: DevIdentity[] };
  return body.identities;
}

export async function devToken(apiUrl: string, identity: Pick<DevIdentity, "subject" | "groups" | "orgUnit">): Promise<string> {
  const response = await fetch(`${apiUrl}${ENDPOINT}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ subject: identity.subject, groups: identity.groups, ...(identity.orgUnit ? { orgUnit: identity.orgUnit } : {}) }),
  });
  if (!response.ok) throw new Error(`dev sign-in refused: HTTP ${response.status}`);
  const body = (await response.json()) as { token: string };
  return body.token;
}
