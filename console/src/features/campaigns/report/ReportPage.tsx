/** A campaign's report as a marketing manager reads it: charts, with the figures in tables beside them, and a CSV export. */
import { DownloadOutlined } from "@ant-design/icons";
import { useQuery } from "@tanstack/react-query";
import { Alert, Button, Card, Col, Row, Skeleton, Statistic, Table } from "antd";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";

import { ok } from "../../../api/client";
import { ApiErrorAlert } from "../../../components/ApiErrorAlert";
import { Chart } from "../../../components/Chart";
import { NotAvailable } from "../../../components/NotAvailable";
import { PageTitle } from "../../../components/PageTitle";
import { StatusTag } from "../../../components/StatusTag";
import { useApi } from "../../../lib/api";
import { downloadCsv } from "../../../lib/csv";
import { formatDay, formatMinor, formatNumber, formatPercent } from "../../../lib/format";
import { keys, useCampaign } from "../../../lib/queries";
import type { Campaign, CampaignReport } from "../../../lib/types";
import { reportRows } from "./reportCsv";
import { armRows, burnDown, periodRows, type ArmRow, type PeriodRow } from "./reportMath";
import { SectionHeading } from "../../../components/SectionHeading";

export default function ReportPage() {
  const { campaignId = "" } = useParams();
  const { t } = useTranslation();
  const api = useApi();
  const campaign = useCampaign(campaignId);
  const report = useQuery({
    queryKey: keys.report(campaignId),
    queryFn: () => ok(api.GET("/v1/admin/campaigns/{campaignId}/report", { params: { path: { campaignId } } })),
    // Grants arrive as the bank's events do: the report follows them while it is open.
    refetchInterval: 5000,
  });
  const title = t("report.title", { name: campaign.data?.name ?? campaignId });
  return (
    <>
      <PageTitle
        title={title}
        extra={
          report.data && (
            <Button icon={<DownloadOutlined />} onClick={() => downloadCsv(`campaign-${campaignId}-report.csv`, reportRows(report.data, (key) => t(key)))} data-testid="export-csv">
              {t("report.exportCsv")}
            </Button>
          )
        }
      >
        {title} {report.data && <StatusTag status={report.data.status} />}
      </PageTitle>
      <Link to={`/campaigns/${campaignId}`}>{t("report.back")}</Link>
      <ApiErrorAlert error={report.error ?? campaign.error} />
      {report.data && campaign.data ? <Report report={report.data} campaign={campaign.data} /> : <Skeleton active />}
    </>
  );
}

function Report({ report, campaign }: { report: CampaignReport; campaign: Campaign }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const arms = useMemo(() => armRows(report), [report]);
  const periods = useMemo(() => periodRows(report), [report]);
  const burn = useMemo(() => burnDown(report.budget.total, campaign.window, new Date()), [report, campaign.window]);
  const money = report.budgetUnit === "minor";
  const amount = (value: number) => (money ? formatMinor(value, report.currency, lang) : formatNumber(value, lang));
  const totals = arms.reduce((sum, arm) => ({ targeted: sum.targeted + arm.targeted, granted: sum.granted + arm.granted, redeemed: sum.redeemed + arm.redeemed }), { targeted: 0, granted: 0, redeemed: 0 });

  const armOption = useMemo(
    () => ({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { top: 48, left: 48, right: 16, bottom: 32 },
      xAxis: { type: "category", data: arms.map((a) => a.arm) },
      yAxis: { type: "value", minInterval: 1 },
      series: (["granted", "notified", "redeemed"] as const).map((field) => ({ type: "bar", name: t(`report.${field}`), data: arms.map((a) => a[field]) })),
    }),
    [arms, t],
  );
  const spendOption = useMemo(
    () => ({
      tooltip: { trigger: "axis" },
      grid: { top: 48, left: 64, right: 16, bottom: 32 },
      xAxis: { type: "category", data: arms.map((a) => a.arm) },
      yAxis: { type: "value", name: report.spendCurrency },
      series: [{ type: "bar", name: t("report.spendPerCustomer"), data: arms.map((a) => (a.spendPerTargetedMinor ?? 0) / 100) }],
    }),
    [arms, report.spendCurrency, t],
  );
  const burnOption = useMemo(
    () => ({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { top: 48, left: 64, right: 24, bottom: 32 },
      xAxis: { type: "time" },
      yAxis: { type: "value", min: 0, name: money ? report.currency ?? "" : t("builder.unitRewards") },
      series: [
        { type: "line", name: t("report.actual"), data: burn.actual.map(([x, y]) => [x, money ? y / 100 : y]), symbolSize: 8 },
        {
          type: "line",
          name: t("report.forecast"),
          data: burn.forecast.map(([x, y]) => [x, money ? y / 100 : y]),
          lineStyle: { type: "dashed" },
          markLine: burn.exhaustsAt && !burn.lastsTheWindow ? { symbol: "none", label: { formatter: t("report.runsOut") }, data: [{ xAxis: burn.exhaustsAt }] } : undefined,
        },
        { type: "line", name: t("report.pace"), data: burn.pace.map(([x, y]) => [x, money ? y / 100 : y]), lineStyle: { type: "dotted" }, symbol: "none" },
      ],
    }),
    [burn, money, report.currency, t],
  );
  const periodOption = useMemo(
    () => ({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { top: 48, left: 64, right: 16, bottom: 32 },
      xAxis: { type: "category", data: periods.map((p) => t(`report.periods.${p.period}`)) },
      yAxis: { type: "value" },
      series: [
        { type: "bar", stack: "budget", name: t("report.spent"), data: periods.map((p) => (money ? p.spent / 100 : p.spent)) },
        { type: "bar", stack: "budget", name: t("report.left"), data: periods.map((p) => (money ? p.left / 100 : p.left)) },
      ],
    }),
    [periods, money, t],
  );

  return (
    <>
      <Row gutter={[16, 16]} style={{ margin: "16px 0" }}>
        <Col xs={12} md={6}>
          <Card>
            <Statistic title={t("report.targeted")} value={totals.targeted} />
          </Card>
        </Col>
        <Col xs={12} md={6}>
          <Card>
            <Statistic title={t("report.granted")} value={totals.granted} data-testid="total-granted" />
          </Card>
        </Col>
        <Col xs={12} md={6}>
          <Card>
            <Statistic title={t("report.redeemed")} value={totals.redeemed} />
          </Card>
        </Col>
        <Col xs={12} md={6}>
          <Card>
            <Statistic title={t("report.budgetLeft")} value={amount(report.budget.total.left)} />
          </Card>
        </Col>
      </Row>
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={12}>
          <Card title={<SectionHeading>{t("report.perArm")}</SectionHeading>}>
            <Chart option={armOption} label={t("report.perArmChart")} testId="chart-arms" />
            <Table<ArmRow>
              aria-label={t("report.perArm")}
              size="small"
              rowKey="arm"
              pagination={false}
              dataSource={arms}
              columns={[
                { title: t("report.arm"), dataIndex: "arm" },
                { title: t("report.targeted"), dataIndex: "targeted" },
                { title: t("report.granted"), dataIndex: "granted" },
                { title: t("report.notified"), dataIndex: "notified" },
                { title: t("report.notificationsDelivered"), dataIndex: "notificationsDelivered" },
                { title: t("report.notificationsFailed"), dataIndex: "notificationsFailed" },
                { title: t("report.redeemed"), dataIndex: "redeemed" },
                { title: t("report.compensated"), dataIndex: "compensated" },
                { title: t("report.partlyDelivered"), dataIndex: "partlyDelivered" },
                { title: t("report.cost"), dataIndex: "cost", render: (v: number) => amount(v) },
              ]}
            />
          </Card>
        </Col>
        <Col xs={24} lg={12}>
          <Card title={<SectionHeading>{t("report.upliftTitle")}</SectionHeading>}>
            <Chart option={spendOption} label={t("report.spendChart")} testId="chart-uplift" />
            <Table<ArmRow>
              aria-label={t("report.upliftTitle")}
              size="small"
              rowKey="arm"
              pagination={false}
              dataSource={arms}
              columns={[
                { title: t("report.arm"), dataIndex: "arm" },
                { title: t("report.spendPerCustomer"), dataIndex: "spendPerTargetedMinor", render: (v: number | null) => formatMinor(v === null ? null : Math.round(v), report.spendCurrency, lang) },
                { title: t("report.incremental"), dataIndex: "incrementalSpendMinor", render: (v: number | null) => formatMinor(v === null ? null : Math.round(v), report.spendCurrency, lang) },
                { title: t("report.uplift"), dataIndex: "uplift", render: (v: number | null) => formatPercent(v, lang) },
                { title: t("report.redemptionRate"), dataIndex: "redemptionRate", render: (v: number | null) => formatPercent(v, lang) },
              ]}
            />
          </Card>
        </Col>
        <Col xs={24} lg={12}>
          <Card title={<SectionHeading>{t("report.burnDown")}</SectionHeading>}>
            {burn.exhaustsAt && !burn.lastsTheWindow ? (
              <Alert type="warning" showIcon title={t("report.runsOutOn", { day: formatDay(burn.exhaustsAt, lang) })} data-testid="runs-out" />
            ) : (
              <Alert type="success" showIcon title={burn.burnPerDay > 0 ? t("report.lasts") : t("report.nothingSpent")} />
            )}
            <Chart option={burnOption} label={t("report.burnChart")} testId="chart-burn" />
            <p>{t("report.burnPerDayIs", { value: money ? formatMinor(Math.round(burn.burnPerDay), report.currency, lang) : formatNumber(burn.burnPerDay, lang, 2) })}</p>
          </Card>
        </Col>
        <Col xs={24} lg={12}>
          <Card title={<SectionHeading>{t("report.perPeriod")}</SectionHeading>}>
            <Chart option={periodOption} label={t("report.periodChart")} testId="chart-periods" />
            <Table<PeriodRow>
              aria-label={t("report.perPeriod")}
              size="small"
              rowKey="period"
              pagination={false}
              dataSource={periods}
              columns={[
                { title: t("report.period"), dataIndex: "period", render: (p: string) => t(`report.periods.${p}`) },
                { title: t("report.limit"), dataIndex: "limit", render: (v: number) => amount(v) },
                { title: t("report.spent"), dataIndex: "spent", render: (v: number) => amount(v) },
                { title: t("report.left"), dataIndex: "left", render: (v: number) => amount(v) },
                { title: t("report.used"), dataIndex: "usedRatio", render: (v: number | null) => formatPercent(v, lang) },
              ]}
            />
            <h3 style={{ fontSize: 14, marginTop: 16 }}>{t("report.perAttribute")}</h3>
            {report.budget.byAttribute?.length ? (
              <Table
                aria-label={t("report.perAttribute")}
                size="small"
                rowKey={(r) => `${r.attribute}=${r.value}`}
                pagination={false}
                dataSource={report.budget.byAttribute}
                columns={[
                  { title: t("report.attribute"), dataIndex: "attribute" },
                  { title: t("report.value"), dataIndex: "value" },
                  { title: t("report.limit"), dataIndex: "limit", render: (v: number) => amount(v) },
                  { title: t("report.spent"), dataIndex: "spent", render: (v: number) => amount(v) },
                  { title: t("report.left"), dataIndex: "left", render: (v: number) => amount(v) },
                ]}
              />
            ) : (
              <p>{t("report.noAttributeBudget")}</p>
            )}
          </Card>
        </Col>
        <Col xs={24}>
          <Card title={<SectionHeading>{t("report.daily")}</SectionHeading>}>
            <NotAvailable what={t("report.dailySeries")} route="GET /v1/admin/campaigns/{campaignId}/report/daily" />
          </Card>
        </Col>
      </Row>
    </>
  );
}
