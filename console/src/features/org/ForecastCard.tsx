/**
 * The cash-need forecast of a unit and everything under it (docs/org-units.md, "The cash-need
 * forecast"): by month, the campaigns' remaining budgets at their burn, the outstanding coupons' and
 * the points liability's expected redemptions, stacked; and every rate the figures used.
 */
import { useQuery } from "@tanstack/react-query";
import { Alert, Card, Col, Row, Segmented, Statistic, Table, Tag, Typography } from "antd";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";

import { ok } from "../../api/client";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { Chart } from "../../components/Chart";
import { SectionHeading } from "../../components/SectionHeading";
import { useApi } from "../../lib/api";
import { formatMinor, formatNumber, formatPercent } from "../../lib/format";
import type { OrgUnitForecast } from "../../lib/types";
import { forecastSeries, rateRows, type RateRow } from "./forecast";

const HORIZONS = [6, 12, 24];

export function ForecastCard({ unitId }: { unitId: string }) {
  const { t, i18n } = useTranslation();
  const api = useApi();
  const [months, setMonths] = useState(12);
  const forecast = useQuery({
    queryKey: ["org-unit", unitId, "forecast", months],
    queryFn: () => ok(api.GET("/v1/admin/org-units/{unitId}/forecast", { params: { path: { unitId }, query: { months } } })),
    retry: false,
  });
  const data = forecast.data;
  const option = useMemo(() => {
    if (!data) return null;
    const { months: labels, series } = forecastSeries(data);
    return {
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { top: 48, left: 72, right: 16, bottom: 32 },
      xAxis: { type: "category", data: labels },
      yAxis: { type: "value", name: data.currency },
      series: series.map((s) => ({ type: "bar", stack: "cash", name: t(`orgForecast.parts.${s.part}`), data: s.amounts })),
    };
  }, [data, t]);
  const money = (minor: number) => formatMinor(minor, data?.currency, i18n.language);
  return (
    <Card
      style={{ marginTop: 16 }}
      title={<SectionHeading>{t("orgForecast.title")}</SectionHeading>}
      extra={<Segmented<number> value={months} onChange={setMonths} options={HORIZONS.map((n) => ({ value: n, label: t("orgForecast.months", { n }) }))} />}
      loading={forecast.isLoading}
      data-testid="org-forecast"
    >
      <ApiErrorAlert error={forecast.error} />
      {data && (
        <>
          <Typography.Paragraph type="secondary">{t("orgForecast.explain")}</Typography.Paragraph>
          <Row gutter={16} style={{ marginBottom: 16 }}>
            <Col xs={24} md={8}>
              <Statistic title={t("orgForecast.total", { n: data.months.length })} value={money(data.totalMinor)} />
            </Col>
            {(["campaigns", "coupons", "points"] as const).map((part) => (
              <Col xs={8} md={5} key={part}>
                <Statistic title={t(`orgForecast.parts.${part}`)} value={money(data.months.reduce((sum, m) => sum + m[part].amountMinor, 0))} />
              </Col>
            ))}
          </Row>
          {option && <Chart option={option} label={t("orgForecast.chart")} testId="chart-forecast" />}
          <LeftOut forecast={data} />
          <Table
            aria-label={t("orgForecast.byMonth")}
            size="small"
            rowKey="month"
            pagination={false}
            dataSource={data.months}
            columns={[
              { title: t("orgForecast.month"), dataIndex: "month" },
              { title: t("orgForecast.parts.campaigns"), key: "campaigns", align: "right", render: (_, m) => money(m.campaigns.amountMinor) },
              {
                title: t("orgForecast.parts.coupons"),
                key: "coupons",
                align: "right",
                render: (_, m) => `${money(m.coupons.amountMinor)} (${formatNumber(m.coupons.outstanding, i18n.language)})`,
              },
              {
                title: t("orgForecast.parts.points"),
                key: "points",
                align: "right",
                render: (_, m) => `${money(m.points.amountMinor)} (${formatNumber(m.points.expiringPoints, i18n.language)})`,
              },
              { title: t("orgForecast.monthTotal"), dataIndex: "totalMinor", align: "right", render: (v: number) => money(v) },
            ]}
          />
          <div style={{ marginTop: 16, marginBottom: 8 }}>
            <SectionHeading>{t("orgForecast.rates")}</SectionHeading>
          </div>
          <Table<RateRow>
            aria-label={t("orgForecast.rates")}
            size="small"
            rowKey="key"
            pagination={{ pageSize: 10, hideOnSinglePage: true }}
            dataSource={rateRows(data)}
            columns={[
              { title: t("orgForecast.what"), dataIndex: "what", render: (what: RateRow["what"]) => t(`orgForecast.whats.${what}`) },
              { title: t("orgForecast.id"), dataIndex: "id", render: (id: string, row) => (row.what === "points" ? "—" : <Typography.Text code>{id}</Typography.Text>) },
              {
                title: t("orgForecast.rate"),
                key: "rate",
                render: (_, row) =>
                  row.rate === null ? `${money(Number(row.detail.burnPerDayMinor))} ${t("orgForecast.perDay")}` : formatPercent(row.rate, i18n.language, 2),
              },
              { title: t("orgForecast.basis"), dataIndex: "basis", render: (basis: string) => <Tag>{t(`orgForecast.bases.${basis}`, { defaultValue: basis })}</Tag> },
              {
                title: t("orgForecast.from"),
                key: "from",
                render: (_, row) =>
                  row.what === "campaign"
                    ? t("orgForecast.fromCampaign", { remaining: money(Number(row.detail.remainingMinor)) })
                    : row.what === "template"
                      ? t("orgForecast.fromTemplate", { value: money(Number(row.detail.valueMinor)), redeemed: row.detail.redeemed, expired: row.detail.expired, revoked: row.detail.revoked })
                      : t("orgForecast.fromPoints", { redeemed: row.detail.redeemed, expired: row.detail.expired, value: row.detail.pointValueMinor }),
              },
            ]}
          />
        </>
      )}
    </Card>
  );
}

function LeftOut({ forecast }: { forecast: OrgUnitForecast }) {
  const { t } = useTranslation();
  const ids = [...forecast.leftOut.campaigns.map((c) => c.campaignId), ...forecast.leftOut.templates.map((c) => c.templateId)];
  if (ids.length === 0) return null;
  return <Alert type="info" showIcon style={{ margin: "16px 0" }} title={t("orgForecast.leftOut", { ids: ids.join(", ") })} />;
}
