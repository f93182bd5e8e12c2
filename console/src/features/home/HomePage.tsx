/**
 * Home: what needs attention today. Campaigns waiting for approval, budgets close to running out,
 * the points liability and the risk-hold queue come from the API; today's totals and queue depths
 * are not exposed yet and say so.
 */
import { useQueries, useQuery } from "@tanstack/react-query";
import { Card, Col, List, Row, Statistic, Tag } from "antd";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { ok } from "../../api/client";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { NotAvailable } from "../../components/NotAvailable";
import { PageTitle } from "../../components/PageTitle";
import { TAG_COLOURS } from "../../components/StatusTag";
import { useApi } from "../../lib/api";
import { formatDay, formatPercent } from "../../lib/format";
import { keys, useCampaigns } from "../../lib/queries";
import { nearExhaustion } from "../campaigns/report/reportMath";
import { SectionHeading } from "../../components/SectionHeading";

/** Reports read for the budget panel: enough for a bank's live campaigns, bounded so the home screen stays quick. */
const MAX_REPORTS = 20;

export default function HomePage() {
  const { t, i18n } = useTranslation();
  const api = useApi();
  const pending = useCampaigns("pending_approval");
  const active = useCampaigns("active");
  const liability = useQuery({ queryKey: ["points-liability"], queryFn: () => ok(api.GET("/v1/admin/points/liability")) });
  const holds = useQuery({ queryKey: ["risk-holds"], queryFn: () => ok(api.GET("/v1/admin/points/risk-holds")) });
  const live = (active.data?.items ?? []).slice(0, MAX_REPORTS);
  const reports = useQueries({
    queries: live.map((c) => ({
      queryKey: keys.report(c.campaignId),
      queryFn: () => ok(api.GET("/v1/admin/campaigns/{campaignId}/report", { params: { path: { campaignId: c.campaignId } } })),
    })),
  });
  const tight = live
    .map((campaign, i) => ({ campaign, report: reports[i]?.data }))
    .filter((row): row is { campaign: (typeof live)[number]; report: NonNullable<typeof row.report> } => !!row.report && nearExhaustion(row.report, row.campaign.window));

  return (
    <>
      <PageTitle title={t("home.title")}>{t("home.title")}</PageTitle>
      <Row gutter={[16, 16]}>
        <Col xs={24} sm={12} lg={6}>
          <Card>
            <Link to="/approvals">
              <Statistic title={t("home.pending")} value={pending.data?.items.length ?? "—"} data-testid="home-pending" />
            </Link>
          </Card>
        </Col>
        <Col xs={24} sm={12} lg={6}>
          <Card>
            <Link to="/campaigns?status=active">
              <Statistic title={t("home.active")} value={active.data?.items.length ?? "—"} />
            </Link>
          </Card>
        </Col>
        <Col xs={24} sm={12} lg={6}>
          <Card>
            <Link to="/points/liability">
              <Statistic title={t("home.liability")} value={liability.data?.outstanding ?? "—"} suffix={t("home.pointsUnit")} />
            </Link>
          </Card>
        </Col>
        <Col xs={24} sm={12} lg={6}>
          <Card>
            <Link to="/points/holds">
              <Statistic title={t("home.holds")} value={holds.data?.items.length ?? "—"} />
            </Link>
          </Card>
        </Col>
        <Col xs={24} lg={12}>
          <Card title={<SectionHeading>{t("home.waiting")}</SectionHeading>}>
            <ApiErrorAlert error={pending.error} />
            <List
              dataSource={pending.data?.items ?? []}
              locale={{ emptyText: t("approvals.empty") }}
              renderItem={(c) => (
                <List.Item>
                  <Link to={`/campaigns/${c.campaignId}`}>{c.name}</Link> <span>{t("home.by", { who: c.author })}</span>
                </List.Item>
              )}
            />
          </Card>
        </Col>
        <Col xs={24} lg={12}>
          <Card title={<SectionHeading>{t("home.budgets")}</SectionHeading>}>
            <ApiErrorAlert error={active.error} />
            <List
              dataSource={tight}
              locale={{ emptyText: t("home.budgetsFine") }}
              renderItem={({ campaign, report }) => (
                <List.Item>
                  <Link to={`/campaigns/${campaign.campaignId}/report`}>{campaign.name}</Link>{" "}
                  <Tag color={TAG_COLOURS.orange}>{formatPercent(report.budget.total.limit ? report.budget.total.spent / report.budget.total.limit : 0, i18n.language)}</Tag>
                  {report.forecast.exhaustsAt && !report.forecast.lastsTheWindow && <span>{t("report.runsOutOn", { day: formatDay(report.forecast.exhaustsAt, i18n.language) })}</span>}
                </List.Item>
              )}
            />
          </Card>
        </Col>
        <Col xs={24} lg={12}>
          <Card title={<SectionHeading>{t("home.today")}</SectionHeading>}>
            <NotAvailable what={t("home.todayWhat")} route="GET /v1/admin/dashboard/today" />
          </Card>
        </Col>
        <Col xs={24} lg={12}>
          <Card title={<SectionHeading>{t("home.queues")}</SectionHeading>}>
            <NotAvailable what={t("home.queuesWhat")} route="GET /v1/admin/ops/queues" />
          </Card>
        </Col>
      </Row>
    </>
  );
}
