import { Result, Spin } from "antd";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router";

import { useConfig } from "../lib/ConfigContext";
import { useAuth } from "./AuthContext";
import { completeSignIn, redirectUri } from "./pkce";
import { takeReturn } from "./session";

/** Back from the Cognito Hosted UI: the code exchanged (PKCE), then on to where the person was going. */
export default function CallbackPage() {
  const { t } = useTranslation();
  const config = useConfig();
  const { signIn } = useAuth();
  const navigate = useNavigate();
  const [failure, setFailure] = useState<string | null>(null);
  const started = useRef(false);

  useEffect(() => {
    // Once: the code is single-use, and StrictMode runs effects twice in development.
    if (started.current || config.auth.mode !== "cognito") return;
    started.current = true;
    completeSignIn(config.auth, redirectUri(window.location.origin, import.meta.env.BASE_URL), window.location.search)
      .then((token) => {
        signIn(token);
        navigate(takeReturn() ?? "/", { replace: true });
      })
      .catch((error: unknown) => setFailure(error instanceof Error ? error.message : String(error)));
  }, [config.auth, navigate, signIn]);

  if (failure) {
    return <Result status="error" title={t("signIn.callbackFailed")} subTitle={failure} extra={<Link to="/signin">{t("signIn.again")}</Link>} />;
  }
  return (
    <div style={{ padding: 48, textAlign: "center" }}>
      <Spin description={t("signIn.completing")} />
    </div>
  );
}
