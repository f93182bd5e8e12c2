/** The points liability: what is outstanding, by the month it expires and the cost centre that pays for it. */
import { useQuery } from "@tanstack/react-query";
import { Alert, Card, Col, Row, Statistic, Table } from "antd";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";

import { ok } from "../../api/client";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { Chart } from "../../components/Chart";
import { useApi } from "../../lib/api";
import { liabilityByMonth } from "./liability";
import { SectionHeading } from "../../components/SectionHeading";

export function LiabilityTab() {
  const { t } = useTranslation();
  const api = useApi();
  const liability = useQuery({ queryKey: ["points-liability"], queryFn: () => ok(api.GET("/v1/admin/points/liability")) });
  const grouped = useMemo(() => (liability.data ? liabilityByMonth(liability.data) : null), [liability.data]);
  const option = useMemo(
    () =>
      grouped && {
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { top: 48, left: 64, right: 16, bottom: 32 },
        xAxis: { type: "category", data: grouped.months },
        yAxis: { type: "value", name: t("builder.points") },
        series: grouped.series.map((s) => ({ type: "bar", stack: "points", name: s.costCentre, data: s.points })),
      },
    [grouped, t],
  );
  return (
    <Card title={<SectionHeading>{t("points.liability")}</SectionHeading>}>
      <ApiErrorAlert error={liability.error} />
      {liability.data && (
        <>
          <Row gutter={16} style={{ marginBottom: 16 }}>
            <Col xs={12} md={6}>
              <Statistic title={t("points.outstanding")} value={liability.data.outstanding} />
            </Col>
            <Col xs={12} md={6}>
              <Statistic title={t("points.balancesAvailable")} value={liability.data.balancesAvailable} />
            </Col>
            <Col xs={12} md={6}>
              <Statistic title={t("points.debt")} value={liability.data.debt} />
            </Col>
          </Row>
          {!liability.data.agrees && <Alert type="error" showIcon title={t("points.disagrees")} style={{ marginBottom: 16 }} />}
          {option && grouped && grouped.months.length > 0 ? (
            <Chart option={option} label={t("points.liabilityChart")} testId="chart-liability" />
          ) : (
            <p>{t("points.noLiability")}</p>
          )}
          <Table
            aria-label={t("points.liability")}
            size="small"
            rowKey={(r) => `${r.costCentre}-${r.expiryMonth}`}
            pagination={{ pageSize: 12, hideOnSinglePage: true }}
            dataSource={liability.data.rows}
            columns={[
              { title: t("points.expiryMonth"), dataIndex: "expiryMonth" },
              { title: t("coupons.costCentre"), dataIndex: "costCentre" },
              { title: t("builder.points"), dataIndex: "points" },
            ]}
          />
        </>
      )}
    </Card>
  );
}
