import {
  ApartmentOutlined,
  AimOutlined,
  AuditOutlined,
  BlockOutlined,
  CarryOutOutlined,
  ReconciliationOutlined,
  DashboardOutlined,
  FileSearchOutlined,
  GiftOutlined,
  LogoutOutlined,
  NotificationOutlined,
  SafetyCertificateOutlined,
  StarOutlined,
  TeamOutlined,
  UserOutlined,
} from "@ant-design/icons";
import { useIsFetching } from "@tanstack/react-query";
import { Button, Layout, Menu, Space, Tag, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link, Outlet, useLocation } from "react-router";

import { useAuth } from "../auth/AuthContext";
import { APPROVERS, OPERATORS, RELATIONSHIP_MANAGERS } from "../auth/session";
import { TAG_COLOURS } from "../components/StatusTag";
import { LanguageSwitch } from "./LanguageSwitch";

const { Header, Sider, Content } = Layout;

export function Shell() {
  const { t } = useTranslation();
  const { session, signOut, can } = useAuth();
  const location = useLocation();
  const section = "/" + (location.pathname.split("/")[1] ?? "");
  // Told to assistive technology (and to the browser tests) while the screen's data is loading.
  const busy = useIsFetching() > 0;

  // Each group sees its own screens: a relationship manager only the workbench (the API refuses
  // them the operators' routes), an operator every other screen.
  const items = [
    ...(can(RELATIONSHIP_MANAGERS)
      ? [{ key: "/rm", icon: <CarryOutOutlined />, label: <Link to="/rm">{t("nav.rmWorkbench")}</Link> }]
      : []),
    ...(can(OPERATORS)
      ? [
          { key: "/", icon: <DashboardOutlined />, label: <Link to="/">{t("nav.home")}</Link> },
          { key: "/campaigns", icon: <NotificationOutlined />, label: <Link to="/campaigns">{t("nav.campaigns")}</Link> },
          // Approvers only: the API refuses approvals from anyone else anyway.
          ...(can(APPROVERS)
            ? [{ key: "/approvals", icon: <SafetyCertificateOutlined />, label: <Link to="/approvals">{t("nav.approvals")}</Link> }]
            : []),
          { key: "/coupons", icon: <GiftOutlined />, label: <Link to="/coupons">{t("nav.coupons")}</Link> },
          { key: "/points", icon: <StarOutlined />, label: <Link to="/points/rules">{t("nav.points")}</Link> },
          { key: "/segments", icon: <TeamOutlined />, label: <Link to="/segments">{t("nav.segments")}</Link> },
          { key: "/customers", icon: <UserOutlined />, label: <Link to="/customers">{t("nav.customers")}</Link> },
          { key: "/mot-rules", icon: <AimOutlined />, label: <Link to="/mot-rules">{t("nav.motRules")}</Link> },
          { key: "/stacking-policy", icon: <BlockOutlined />, label: <Link to="/stacking-policy">{t("nav.stackingPolicy")}</Link> },
          { key: "/checkout-sessions", icon: <FileSearchOutlined />, label: <Link to="/checkout-sessions">{t("nav.checkoutInspector")}</Link> },
          { key: "/reconciliation", icon: <ReconciliationOutlined />, label: <Link to="/reconciliation">{t("nav.reconciliation")}</Link> },
          { key: "/org-units", icon: <ApartmentOutlined />, label: <Link to="/org-units">{t("nav.orgUnits")}</Link> },
          { key: "/audit", icon: <AuditOutlined />, label: <Link to="/audit">{t("nav.audit")}</Link> },
        ]
      : []),
  ];

  return (
    <Layout style={{ minHeight: "100vh" }}>
      <a className="skip-link" href="#main">
        {t("nav.skip")}
      </a>
      <Sider breakpoint="lg" collapsedWidth={0} theme="light" width={208} style={{ borderRight: "1px solid #f0f0f0" }}>
        <div style={{ padding: "16px 20px", fontWeight: 600, fontSize: 16 }}>{t("app.title")}</div>
        <nav aria-label={t("nav.label")}>
          <Menu mode="inline" selectedKeys={[section === "/" ? "/" : section]} items={items} style={{ borderInlineEnd: 0 }} />
        </nav>
      </Sider>
      <Layout>
        <Header style={{ background: "#fff", padding: "0 24px", borderBottom: "1px solid #f0f0f0", display: "flex", justifyContent: "flex-end" }}>
          <Space size="middle">
            <LanguageSwitch />
            <Typography.Text data-testid="signed-in-as">
              {session?.name}{" "}
              {session?.groups.map((group) => (
                <Tag key={group} color={group === APPROVERS ? TAG_COLOURS.gold : group === RELATIONSHIP_MANAGERS ? TAG_COLOURS.cyan : TAG_COLOURS.blue}>
                  {t(`groups.${group}`, { defaultValue: group })}
                </Tag>
              ))}
              {session?.orgUnit && (
                <Tag color={TAG_COLOURS.cyan} data-testid="signed-in-org-unit">
                  {t("org.unitTag", { id: session.orgUnit })}
                </Tag>
              )}
            </Typography.Text>
            <Button icon={<LogoutOutlined />} onClick={signOut}>
              {t("nav.signOut")}
            </Button>
          </Space>
        </Header>
        <Content id="main" tabIndex={-1} aria-busy={busy} style={{ margin: 24 }}>
          <Outlet />
        </Content>
      </Layout>
    </Layout>
  );
}
