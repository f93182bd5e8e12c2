import { LoginOutlined } from "@ant-design/icons";
import { useQuery } from "@tanstack/react-query";
import { Alert, Button, Card, Flex, List, Space, Tag, Typography } from "antd";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useLocation, useNavigate, useSearchParams } from "react-router";

import { ApiErrorAlert } from "../components/ApiErrorAlert";
import { LanguageSwitch } from "../layout/LanguageSwitch";
import { useConfig } from "../lib/ConfigContext";
import { useAuth } from "./AuthContext";
import { devToken, listDevIdentities, type DevIdentity } from "./devSignIn";
import { redirectUri, startSignIn } from "./pkce";
import { takeReturn, wasExpired } from "./session";

export default function SignInPage() {
  const { t } = useTranslation();
  const config = useConfig();
  const [params] = useSearchParams();
  const expired = params.get("expired") === "1" || wasExpired();

  useEffect(() => {
    document.title = `${t("signIn.title")} · ${t("app.title")}`;
  }, [t]);

  return (
    <main style={{ maxWidth: 560, margin: "64px auto", padding: "0 16px" }}>
      <Flex justify="space-between" align="center" style={{ marginBottom: 24 }}>
        <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
          {t("app.title")}
        </Typography.Title>
        <LanguageSwitch />
      </Flex>
      {expired && (
        <Alert type="warning" showIcon role="alert" data-testid="session-expired" title={t("signIn.expired")} style={{ marginBottom: 16 }} />
      )}
      {config.auth.mode === "dev" ? <DevSignIn /> : <CognitoSignIn />}
    </main>
  );
}

function useAfterSignIn() {
  const navigate = useNavigate();
  const location = useLocation();
  return () => {
    const from = (location.state as { from?: string } | null)?.from;
    navigate(takeReturn() ?? from ?? "/", { replace: true });
  };
}

function DevSignIn() {
  const { t } = useTranslation();
  const { apiUrl } = useConfig();
  const { signIn } = useAuth();
  const after = useAfterSignIn();
  const [failure, setFailure] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const identities = useQuery({ queryKey: ["dev-identities"], queryFn: () => listDevIdentities(apiUrl), retry: false });

  const choose = async (identity: DevIdentity) => {
    setBusy(identity.subject);
    setFailure(null);
    try {
      signIn(await devToken(apiUrl, identity));
      after();
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(null);
    }
  };

  return (
    <Card title={t("signIn.devTitle")}>
      <Typography.Paragraph type="secondary">{t("signIn.devHint")}</Typography.Paragraph>
      <ApiErrorAlert error={identities.error ?? failure} />
      <List
        loading={identities.isLoading}
        dataSource={identities.data ?? []}
        renderItem={(identity) => (
          <List.Item
            actions={[
              <Button
                key="go"
                type="primary"
                icon={<LoginOutlined />}
                loading={busy === identity.subject}
                onClick={() => void choose(identity)}
                data-testid={`sign-in-${identity.subject}`}
                aria-label={t("signIn.as", { who: t(`signIn.identity.${identity.label}`, { defaultValue: identity.subject }) })}
              >
                {t("signIn.go")}
              </Button>,
            ]}
          >
            <List.Item.Meta
              title={t(`signIn.identity.${identity.label}`, { defaultValue: identity.subject })}
              description={
                <Space size={4} wrap>
                  <Typography.Text code>{identity.subject}</Typography.Text>
                  {identity.groups.map((group) => (
                    <Tag key={group}>{t(`groups.${group}`, { defaultValue: group })}</Tag>
                  ))}
                  {identity.orgUnit && <Tag>{t("org.unitTag", { id: identity.orgUnit })}</Tag>}
                </Space>
              }
            />
          </List.Item>
        )}
      />
    </Card>
  );
}

function CognitoSignIn() {
  const { t } = useTranslation();
  const config = useConfig();
  const [failure, setFailure] = useState<unknown>(null);
  const go = async () => {
    if (config.auth.mode !== "cognito") return;
    try {
      window.location.assign(await startSignIn(config.auth, redirectUri(window.location.origin, import.meta.env.BASE_URL)));
    } catch (error) {
      setFailure(error);
    }
  };
  return (
    <Card title={t("signIn.ssoTitle")}>
      <Typography.Paragraph type="secondary">{t("signIn.ssoHint")}</Typography.Paragraph>
      <ApiErrorAlert error={failure} />
      <Button type="primary" size="large" icon={<LoginOutlined />} onClick={() => void go()}>
        {t("signIn.sso")}
      </Button>
    </Card>
  );
}
