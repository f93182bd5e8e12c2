/**
 * The branch league table (docs/org-units.md, "Branch league table"): for each unit right under this
 * one, a month's or a quarter's new and active customers, AUM growth, grants and their cost, the
 * coupons' redemption rate and the campaigns' uplift, ranked; from counters the bus events keep.
 */
import { useQuery } from "@tanstack/react-query";
import { Card, Select, Space, Table, Typography } from "antd";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";

import { ok } from "../../api/client";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { Chart } from "../../components/Chart";
import { SectionHeading } from "../../components/SectionHeading";
import { useApi } from "../../lib/api";
import { formatMinor, formatNumber, formatPercent } from "../../lib/format";
import { leagueSeries, periodOptions, RANK_BY, UNASSIGNED, type RankBy, type UnitKpis } from "./kpis";

export function KpiCard({ unitId, currency = "CNY" }: { unitId: string; currency?: string }) {
  const { t, i18n } = useTranslation();
  const api = useApi();
  const periods = useMemo(() => periodOptions(new Date()), []);
  const [period, setPeriod] = useState(periods[0]);
  const [rankBy, setRankBy] = useState<RankBy>("activeCustomers");
  const league = useQuery({
    queryKey: ["org-unit", unitId, "kpis", period, rankBy],
    queryFn: () => ok(api.GET("/v1/admin/org-units/{unitId}/kpis", { params: { path: { unitId }, query: { period, rankBy } } })),
    retry: false,
  });
  const data = league.data;
  const label = (row: UnitKpis) => (row.unitId === UNASSIGNED ? t("orgKpis.unassigned") : (row.name ?? row.unitId));
  const option = useMemo(() => {
    if (!data || data.units.length === 0) return null;
    const { names, values } = leagueSeries(data, (row) => (row.unitId === UNASSIGNED ? t("orgKpis.unassigned") : (row.name ?? row.unitId)));
    return {
      tooltip: { trigger: "axis" },
      grid: { top: 24, left: 72, right: 16, bottom: 56 },
      xAxis: { type: "category", data: names, axisLabel: { rotate: names.length > 8 ? 30 : 0 } },
      yAxis: { type: "value" },
      series: [{ type: "bar", name: t(`orgKpis.rankBy.${data.rankBy}`), data: values }],
    };
  }, [data, t]);
  const money = (minor: number) => formatMinor(minor, currency, i18n.language);
  const number = (n: number) => formatNumber(n, i18n.language);
  // Treated customers' spend each against the control's (null: no control spend to compare).
  const uplift = (row: UnitKpis) =>
    `${row.upliftPercent === null ? "—" : formatPercent(row.upliftPercent / 100, i18n.language)} (${number(row.treatedCustomers)}/${number(row.controlCustomers)})`;
  return (
    <Card
      style={{ marginTop: 16 }}
      title={<SectionHeading>{t("orgKpis.title")}</SectionHeading>}
      extra={
        <Space>
          <Select aria-label={t("orgKpis.period")} value={period} onChange={setPeriod} style={{ width: 120 }}
            options={periods.map((p) => ({ value: p, label: p }))} />
          <Select<RankBy> aria-label={t("orgKpis.rankByLabel")} value={rankBy} onChange={setRankBy} style={{ width: 180 }}
            options={RANK_BY.map((r) => ({ value: r, label: t(`orgKpis.rankBy.${r}`) }))} />
        </Space>
      }
      loading={league.isLoading}
      data-testid="org-kpis"
    >
      <ApiErrorAlert error={league.error} />
      {data && (
        <>
          <Typography.Paragraph type="secondary">{t("orgKpis.explain", { month: data.aumMonth, base: data.aumBaseMonth })}</Typography.Paragraph>
          {option && <Chart option={option} label={t("orgKpis.chart")} testId="chart-kpis" />}
          <Table<UnitKpis>
            aria-label={t("orgKpis.title")}
            size="small"
            rowKey="unitId"
            pagination={{ pageSize: 20, hideOnSinglePage: true }}
            dataSource={data.units}
            locale={{ emptyText: t("orgKpis.none") }}
            summary={() => (
              <Table.Summary.Row>
                <Table.Summary.Cell index={0} colSpan={2}>{t("orgKpis.total")}</Table.Summary.Cell>
                <Table.Summary.Cell index={2} align="right">{number(data.total.newCustomers)}</Table.Summary.Cell>
                <Table.Summary.Cell index={3} align="right">{number(data.total.activeCustomers)}</Table.Summary.Cell>
                <Table.Summary.Cell index={4} align="right">{money(data.total.aumGrowthMinor)}</Table.Summary.Cell>
                <Table.Summary.Cell index={5} align="right">{`${number(data.total.grants)} · ${money(data.total.grantCostMinor)}`}</Table.Summary.Cell>
                <Table.Summary.Cell index={6} align="right">{formatPercent(data.total.redemptionRate, i18n.language)}</Table.Summary.Cell>
                <Table.Summary.Cell index={7} align="right">{uplift(data.total)}</Table.Summary.Cell>
              </Table.Summary.Row>
            )}
            columns={[
              { title: t("orgKpis.rank"), dataIndex: "rank", width: 64 },
              { title: t("orgKpis.unit"), key: "unit", render: (_, row) => label(row) },
              { title: t("orgKpis.rankBy.newCustomers"), dataIndex: "newCustomers", align: "right", render: number },
              { title: t("orgKpis.rankBy.activeCustomers"), dataIndex: "activeCustomers", align: "right", render: number },
              {
                title: t("orgKpis.rankBy.aumGrowthMinor"),
                key: "aum",
                align: "right",
                render: (_, row) =>
                  `${money(row.aumGrowthMinor)}${row.aumGrowthPercent === null ? "" : ` (${formatPercent(row.aumGrowthPercent / 100, i18n.language)})`}`,
              },
              { title: t("orgKpis.grants"), key: "grants", align: "right", render: (_, row) => `${number(row.grants)} · ${money(row.grantCostMinor)}` },
              {
                title: t("orgKpis.rankBy.redemptionRate"),
                key: "rate",
                align: "right",
                render: (_, row) => `${formatPercent(row.redemptionRate, i18n.language)} (${number(row.couponsRedeemed)}/${number(row.couponsIssued)})`,
              },
              { title: t("orgKpis.rankBy.upliftPercent"), key: "uplift", align: "right", render: (_, row) => uplift(row) },
            ]}
          />
        </>
      )}
    </Card>
  );
}
