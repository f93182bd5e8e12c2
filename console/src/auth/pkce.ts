/**
 * Cognito Hosted UI sign-in: OAuth 2.0 authorization code with PKCE (RFC 7636), a public client
 * with no secret. The verifier lives in sessionStorage only between the redirect out and back.
 * Only the ID token is kept (the API's Cognito authorizer takes ID tokens); the refresh token is
 * dropped on purpose, so nothing long-lived is held by the browser.
 */
import type { AuthConfig } from "../config";

type CognitoConfig = Extract<AuthConfig, { mode: "cognito" }>;

const PENDING_KEY = "console.pkce";
const DEFAULT_SCOPES = ["openid", "email", "profile"];

export function base64Url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function randomVerifier(bytes = 32): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

export async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64Url(new Uint8Array(digest));
}

export function redirectUri(origin: string, base: string): string {
  return `${origin}${base}auth/callback`;
}

export function authorizeUrl(config: CognitoConfig, redirect: string, challenge: string, state: string): string {
  const query = new URLSearchParams({
    response_type: "code",
    client_id: config.clientId,
    redirect_uri: redirect,
    scope: (config.scopes ?? DEFAULT_SCOPES).join(" "),
    code_challenge: challenge,
    code_challenge_method: "S256",
    state,
  });
  return `${config.domain}/oauth2/authorize?${query.toString()}`;
}

export async function startSignIn(config: CognitoConfig, redirect: string, storage: Storage = sessionStorage): Promise<string> {
  const verifier = randomVerifier();
  const state = randomVerifier(16);
  storage.setItem(PENDING_KEY, JSON.stringify({ verifier, state }));
  return authorizeUrl(config, redirect, await challengeOf(verifier), state);
}

export class SignInError extends Error {
  override readonly name = "SignInError";
}

/** Back from the Hosted UI with `?code&state`: the code exchanged for tokens, the ID token returned. */
export async function completeSignIn(
  config: CognitoConfig,
  redirect: string,
  search: string,
  storage: Storage = sessionStorage,
  fetchImpl: typeof fetch = fetch,
): Promise<string> {
  const params = new URLSearchParams(search);
  const pending = storage.getItem(PENDING_KEY);
  storage.removeItem(PENDING_KEY);
  if (params.get("error")) throw new SignInError(params.get("error_description") ?? params.get("error") ?? "sign-in refused");
  const code = params.get("code");
  if (!code || !pending) throw new SignInError("no sign-in in progress");
  const { verifier, state } = JSON.parse(pending) as { verifier: string; state: string };
  // The state ties the answer to the sign-in this tab started (no forged callback).
  if (params.get("state") !== state) throw new SignInError("the sign-in answer does not match the request");
  const response = await fetchImpl(`${config.domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", client_id: config.clientId, code, redirect_uri: redirect, code_verifier: verifier }),
  });
  if (!response.ok) throw new SignInError(`token exchange failed: HTTP ${response.status}`);
  const tokens = (await response.json()) as { id_token?: unknown };
  if (typeof tokens.id_token !== "string") throw new SignInError("no ID token in the answer");
  return tokens.id_token;
}

export function signOutUrl(config: CognitoConfig, origin: string, base: string): string {
  const query = new URLSearchParams({ client_id: config.clientId, logout_uri: `${origin}${base}` });
  return `${config.domain}/logout?${query.toString()}`;
}
