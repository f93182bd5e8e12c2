import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useLocation, useNavigate } from "react-router";

import { clearExpired, clearSession, hasGroup, loadSession, markExpired, rememberReturn, saveSession, sessionFromToken, type Session } from "./session";
import { setUnauthorizedHandler } from "../lib/unauthorized";

interface AuthValue {
  session: Session | null;
  signIn: (token: string) => Session;
  signOut: () => void;
  /** The API answered 401 (the token lapsed): back to sign-in, coming back here afterwards. */
  expire: () => void;
  can: (group: string) => boolean;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(() => loadSession());
  const navigate = useNavigate();
  const location = useLocation();

  const signIn = useCallback((token: string) => {
    const next = sessionFromToken(token);
    saveSession(next);
    clearExpired();
    setSession(next);
    return next;
  }, []);

  const signOut = useCallback(() => {
    clearSession();
    setSession(null);
    navigate("/signin", { replace: true });
  }, [navigate]);

  const expire = useCallback(() => {
    if (!location.pathname.startsWith("/signin")) rememberReturn(location.pathname + location.search);
    // Kept in sessionStorage, not only in the URL: the route guard may redirect to /signin first.
    markExpired();
    clearSession();
    setSession(null);
    navigate("/signin?expired=1", { replace: true });
  }, [location.pathname, location.search, navigate]);

  useEffect(() => setUnauthorizedHandler(expire), [expire]);

  // The token's own expiry, without waiting for a 401: the person is told before losing work.
  useEffect(() => {
    if (!session) return undefined;
    const timer = window.setTimeout(expire, Math.max(0, session.expiresAt - Date.now()));
    return () => window.clearTimeout(timer);
  }, [session, expire]);

  const value = useMemo<AuthValue>(
    () => ({ session, signIn, signOut, expire, can: (group: string) => hasGroup(session, group) }),
    [session, signIn, signOut, expire],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth outside AuthProvider");
  return value;
}
