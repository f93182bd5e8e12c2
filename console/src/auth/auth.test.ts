import { describe, expect, it } from "vitest";

import { parseConfig } from "../config";
import { MemoryStorage } from "../test/storage";
import { authorizeUrl, challengeOf, completeSignIn, SignInError, startSignIn } from "./pkce";
import { isExpired, rememberReturn, sessionFromToken, takeReturn } from "./session";

const cognito = { mode: "cognito" as const, domain: "https://bank.auth.ap-east-1.amazoncognito.com", clientId: "client-1" };

function jwt(claims: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${encode({ alg: "HS256" })}.${encode(claims)}.signature`;
}

describe("the session", () => {
  it("reads the subject, groups and expiry from the ID token (as Cognito writes them)", () => {
    const session = sessionFromToken(jwt({ sub: "u-1", "cognito:username": "alice", "cognito:groups": ["operators", "approvers"], exp: 2_000_000_000 }));
    expect(session).toMatchObject({ subject: "u-1", name: "alice", groups: ["operators", "approvers"], expiresAt: 2_000_000_000_000 });
    expect(isExpired(session, 2_000_000_000_001)).toBe(true);
  });

  it("goes back only to a path of this console after signing in again", () => {
    const storage = new MemoryStorage();
    rememberReturn("/campaigns/new?x=1", storage);
    expect(takeReturn(storage)).toBe("/campaigns/new?x=1");
    expect(takeReturn(storage)).toBeNull();
    rememberReturn("//evil.example/", storage);
    expect(takeReturn(storage)).toBeNull();
  });
});

describe("Cognito Hosted UI with PKCE", () => {
  it("derives the challenge as RFC 7636 says (its appendix B example)", async () => {
    expect(await challengeOf("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  });

  it("sends the person to the authorize endpoint with the challenge, S256 and a state", () => {
    const url = new URL(authorizeUrl(cognito, "https://console.bank/console/auth/callback", "chal", "st"));
    expect(url.origin + url.pathname).toBe("https://bank.auth.ap-east-1.amazoncognito.com/oauth2/authorize");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: "code",
      client_id: "client-1",
      redirect_uri: "https://console.bank/console/auth/callback",
      scope: "openid email profile",
      code_challenge: "chal",
      code_challenge_method: "S256",
      state: "st",
    });
  });

  it("exchanges the code with the verifier and keeps only the ID token", async () => {
    const storage = new MemoryStorage();
    const url = new URL(await startSignIn(cognito, "https://c/cb", storage));
    const state = url.searchParams.get("state") ?? "";
    const sent: { url: string; body: string }[] = [];
    const fakeFetch = (async (input: string, init: RequestInit) => {
      sent.push({ url: input, body: String(init.body) });
      return new Response(JSON.stringify({ id_token: "id.token.here", access_token: "a", refresh_token: "never kept" }), { status: 200 });
    }) as unknown as typeof fetch;
    const token = await completeSignIn(cognito, "https://c/cb", `?code=abc&state=${state}`, storage, fakeFetch);
    expect(token).toBe("id.token.here");
    const body = new URLSearchParams(sent[0]?.body);
    expect(sent[0]?.url).toBe(`${cognito.domain}/oauth2/token`);
    expect(body.get("grant_type")).toBe("authorization_code");
    expect(await challengeOf(body.get("code_verifier") ?? "")).toBe(url.searchParams.get("code_challenge"));
    expect(storage.length).toBe(0);
  });

  it("refuses an answer whose state is not the one this tab sent", async () => {
    const storage = new MemoryStorage();
    await startSignIn(cognito, "https://c/cb", storage);
    await expect(completeSignIn(cognito, "https://c/cb", "?code=abc&state=forged", storage, fetch)).rejects.toBeInstanceOf(SignInError);
  });
});

describe("the runtime configuration", () => {
  it("takes the local one: the API on the console's origin, the development sign-in", () => {
    expect(parseConfig({ apiUrl: "/", auth: { mode: "dev" } }, "http://127.0.0.1:3000")).toEqual({ apiUrl: "http://127.0.0.1:3000", auth: { mode: "dev" } });
  });

  it("takes a deployed one, and refuses one without what Cognito needs", () => {
    expect(parseConfig({ apiUrl: "https://api.bank/prod/", auth: { ...cognito, domain: cognito.domain + "/" } }, "https://console.bank")).toEqual({ apiUrl: "https://api.bank/prod", auth: cognito });
    expect(() => parseConfig({ apiUrl: "/", auth: { mode: "cognito", domain: "http://insecure", clientId: "c" } }, "https://x")).toThrow(/https/);
    expect(() => parseConfig({ apiUrl: "/", auth: { mode: "magic" } }, "https://x")).toThrow(/mode/);
  });
});
