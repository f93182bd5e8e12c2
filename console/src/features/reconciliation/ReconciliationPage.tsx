/**
 * The daily reconciliation (日终对账): a business date's report (each check, its counts, every
 * discrepancy with the ids needed to repair it), and "reconcile now". A run goes on in the
 * background: the screen reads the report again every two seconds while it runs.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Alert, Button, Card, DatePicker, Descriptions, Empty, Popconfirm, Space, Table, Tag } from "antd";
import dayjs, { type Dayjs } from "dayjs";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";

import { ApiError, ok, withIdempotencyKey } from "../../api/client";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { PageTitle } from "../../components/PageTitle";
import { SectionHeading } from "../../components/SectionHeading";
import { StatusTag } from "../../components/StatusTag";
import { useApi } from "../../lib/api";
import { formatInstant, formatNumber } from "../../lib/format";
import type { ReconciliationCheck, ReconciliationReport } from "../../lib/types";
import { useSave } from "../../lib/useSave";

type Finding = ReconciliationCheck["findings"][number];

export default function ReconciliationPage() {
  const { t, i18n } = useTranslation();
  const api = useApi();
  const queryClient = useQueryClient();
  const [params, setParams] = useSearchParams();
  const day = params.get("date") ?? dayjs().format("YYYY-MM-DD");
  const report = useQuery({
    queryKey: ["reconciliation", day],
    queryFn: async () => {
      try {
        return await ok(api.GET("/v1/admin/reconciliation/{businessDate}", { params: { path: { businessDate: day } } }));
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return null; // never reconciled: not an error
        throw error;
      }
    },
    refetchInterval: (query) => (query.state.data?.status === "running" ? 2000 : false),
  });
  const start = useSave<string, ReconciliationReport>({
    save: (businessDate, key) =>
      ok(api.POST("/v1/admin/reconciliation/{businessDate}", { params: { path: { businessDate } }, ...withIdempotencyKey(key) })),
    onSuccess: (started) => queryClient.setQueryData(["reconciliation", day], started),
  });
  const run = report.data;

  return (
    <>
      <PageTitle title={t("reconciliation.title")}>{t("reconciliation.title")}</PageTitle>
      <Card style={{ marginBottom: 16 }}>
        <Space wrap>
          <label htmlFor="reconciliation-date">{t("reconciliation.date")}</label>
          <DatePicker
            id="reconciliation-date"
            value={dayjs(day)}
            allowClear={false}
            disabledDate={(d: Dayjs) => d.isAfter(dayjs(), "day")}
            onChange={(d) => d && setParams(new URLSearchParams({ date: d.format("YYYY-MM-DD") }))}
          />
          <Popconfirm
            title={t("reconciliation.confirm", { day })}
            okText={t("common.confirm")}
            cancelText={t("common.cancel")}
            onConfirm={() => start.mutate(day)}
          >
            <Button type="primary" loading={start.isPending || run?.status === "running"}>
              {t("reconciliation.run")}
            </Button>
          </Popconfirm>
        </Space>
        <p style={{ marginTop: 12, marginBottom: 0 }}>{t("reconciliation.explain")}</p>
      </Card>
      <ApiErrorAlert error={start.error ?? report.error} />
      {run === null && <Empty description={t("reconciliation.notRun", { day })} />}
      {run && <Report run={run} language={i18n.language} />}
    </>
  );
}

function Report({ run, language }: { run: ReconciliationReport; language: string }) {
  const { t } = useTranslation();
  const agree = run.status === "done" && run.discrepancies === 0;
  return (
    <>
      <Card title={<SectionHeading>{t("reconciliation.summary")}</SectionHeading>} style={{ marginBottom: 16 }}>
        {run.status === "done" && (
          <Alert
            style={{ marginBottom: 16 }}
            type={agree ? "success" : "error"}
            showIcon
            message={agree ? t("reconciliation.agree") : t("reconciliation.disagree", { n: run.discrepancies })}
          />
        )}
        <Descriptions size="small" column={{ xs: 1, md: 3 }}>
          <Descriptions.Item label={t("reconciliation.status")}>
            <StatusTag status={run.status} />
          </Descriptions.Item>
          <Descriptions.Item label={t("reconciliation.phase")}>{t(`reconciliation.phases.${run.phase}`, { defaultValue: run.phase })}</Descriptions.Item>
          <Descriptions.Item label={t("reconciliation.pages")}>{formatNumber(run.pages, language)}</Descriptions.Item>
          <Descriptions.Item label={t("reconciliation.requestedBy")}>{run.requestedBy}</Descriptions.Item>
          <Descriptions.Item label={t("reconciliation.startedAt")}>{formatInstant(run.startedAt, language)}</Descriptions.Item>
          <Descriptions.Item label={t("reconciliation.finishedAt")}>{formatInstant(run.finishedAt, language)}</Descriptions.Item>
        </Descriptions>
      </Card>
      <Card title={<SectionHeading>{t("reconciliation.checks")}</SectionHeading>}>
        <Table<ReconciliationCheck>
          rowKey="name"
          pagination={false}
          dataSource={run.checks}
          aria-label={t("reconciliation.checks")}
          expandable={{
            rowExpandable: (check) => check.findings.length > 0 || Object.keys(check.counts).length > 0,
            expandedRowRender: (check) => <CheckDetail check={check} language={language} />,
          }}
          columns={[
            { title: t("reconciliation.check"), dataIndex: "name", render: (name: string) => t(`reconciliation.names.${name}`, { defaultValue: name }) },
            { title: t("reconciliation.examined"), dataIndex: "examined", align: "right", render: (n: number) => formatNumber(n, language) },
            { title: t("reconciliation.ofTheDay"), dataIndex: "ofTheDay", align: "right", render: (n: number) => formatNumber(n, language) },
            { title: t("reconciliation.inFlight"), dataIndex: "inFlight", align: "right", render: (n: number) => formatNumber(n, language) },
            {
              title: t("reconciliation.discrepancies"),
              dataIndex: "discrepancies",
              align: "right",
              render: (n: number) => <Tag color={n ? "#a8071a" : "#237804"}>{formatNumber(n, language)}</Tag>,
            },
          ]}
        />
      </Card>
    </>
  );
}

function CheckDetail({ check, language }: { check: ReconciliationCheck; language: string }) {
  const { t } = useTranslation();
  return (
    <>
      <Descriptions size="small" column={{ xs: 1, md: 3 }} title={t("reconciliation.counts")}>
        {Object.entries(check.counts).map(([name, n]) => (
          <Descriptions.Item key={name} label={name}>
            {formatNumber(n, language)}
          </Descriptions.Item>
        ))}
      </Descriptions>
      {check.findings.length > 0 && (
        <Table<Finding>
          size="small"
          rowKey={(f) => JSON.stringify(f)}
          pagination={false}
          dataSource={check.findings}
          aria-label={t("reconciliation.findings")}
          columns={[
            { title: t("reconciliation.code"), dataIndex: "code", width: 240, render: (code: string) => <code>{code}</code> },
            {
              title: t("reconciliation.ids"),
              key: "ids",
              render: (_, f) =>
                Object.entries(f)
                  .filter(([k]) => k !== "code")
                  .map(([k, v]) => `${k}=${v}`)
                  .join(" · "),
            },
          ]}
        />
      )}
    </>
  );
}
