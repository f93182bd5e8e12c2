import { Flex, Typography } from "antd";
import { useEffect, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { useLocation } from "react-router";

/** The screen's heading (one h1 per screen) and the browser tab's title. */
export function PageTitle({ children, extra, title }: { children: ReactNode; extra?: ReactNode; title: string }) {
  const { t } = useTranslation();
  // The path this heading was drawn for: tells a screen now shown from the one before it.
  const { pathname } = useLocation();
  useEffect(() => {
    document.title = `${title} · ${t("app.title")}`;
  }, [title, t]);
  return (
    <Flex justify="space-between" align="center" wrap gap={12} style={{ marginBottom: 16 }}>
      <Typography.Title level={1} style={{ fontSize: 22, margin: 0 }} data-path={pathname}>
        {children}
      </Typography.Title>
      {extra}
    </Flex>
  );
}
