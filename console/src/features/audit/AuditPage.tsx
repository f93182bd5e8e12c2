/** The operators' audit log, by resource, by actor and by business day (any combination), newest first. */
import { Button, Card, DatePicker, Form, Input, Modal, Space } from "antd";
import type { Dayjs } from "dayjs";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";

import { ok } from "../../api/client";
import { CursorTable } from "../../components/CursorTable";
import { JsonBlock } from "../../components/JsonBlock";
import { PageTitle } from "../../components/PageTitle";
import { useApi } from "../../lib/api";
import { formatInstant } from "../../lib/format";
import type { AuditEntry } from "../../lib/types";

interface Filters {
  resource?: string;
  actor?: string;
  date?: string;
}

function pretty(text: string | null | undefined): string {
  if (!text) return "—";
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export default function AuditPage() {
  const { t, i18n } = useTranslation();
  const api = useApi();
  const [params, setParams] = useSearchParams();
  const filters: Filters = Object.fromEntries(["resource", "actor", "date"].flatMap((k) => (params.get(k) ? [[k, params.get(k)]] : [])));
  const [form] = Form.useForm<{ resource?: string; actor?: string; date?: Dayjs | null }>();
  const [shown, setShown] = useState<AuditEntry | null>(null);

  return (
    <>
      <PageTitle title={t("audit.title")}>{t("audit.title")}</PageTitle>
      <Card style={{ marginBottom: 16 }}>
        <Form
          form={form}
          layout="inline"
          aria-label={t("audit.filters")}
          onFinish={(values) => {
            const next = new URLSearchParams();
            if (values.resource?.trim()) next.set("resource", values.resource.trim());
            if (values.actor?.trim()) next.set("actor", values.actor.trim());
            if (values.date) next.set("date", values.date.format("YYYY-MM-DD"));
            setParams(next);
          }}
        >
          <Form.Item name="resource" label={t("audit.resource")} initialValue={filters.resource}>
            <Input placeholder="campaigns/camp-1" style={{ width: 240 }} />
          </Form.Item>
          <Form.Item name="actor" label={t("audit.actor")} initialValue={filters.actor}>
            <Input placeholder="op-alice" style={{ width: 160 }} />
          </Form.Item>
          <Form.Item name="date" label={t("audit.date")}>
            <DatePicker />
          </Form.Item>
          <Space>
            <Button type="primary" htmlType="submit">
              {t("audit.apply")}
            </Button>
            <Button
              onClick={() => {
                form.resetFields();
                setParams(new URLSearchParams());
              }}
            >
              {t("audit.clear")}
            </Button>
          </Space>
        </Form>
        <p style={{ marginTop: 12, marginBottom: 0 }}>{Object.keys(filters).length ? t("audit.filtered") : t("audit.today")}</p>
      </Card>
      <CursorTable<AuditEntry>
        label={t("audit.title")}
        queryKey={["audit", filters]}
        fetchPage={(cursor) => ok(api.GET("/v1/admin/audit", { params: { query: { ...filters, limit: 200, ...(cursor ? { cursor } : {}) } } }))}
        rowKey={(e) => `${e.actionId}-${e.phase}`}
        height={560}
        columns={[
          { title: t("audit.at"), dataIndex: "at", width: 180, render: (v: string) => formatInstant(v, i18n.language) },
          { title: t("audit.who"), dataIndex: "who", width: 140 },
          { title: t("audit.route"), dataIndex: "route", width: 360 },
          { title: t("audit.resource"), dataIndex: "resource", width: 240 },
          { title: t("audit.phase"), dataIndex: "phase", width: 110, render: (p: string) => t(`audit.phases.${p}`, { defaultValue: p }) },
          { title: t("audit.status"), dataIndex: "status", width: 80 },
          {
            title: t("common.actions"),
            key: "show",
            width: 100,
            render: (_, e) => (
              <Button size="small" onClick={() => setShown(e)} aria-label={`${t("audit.show")} ${e.actionId}`}>
                {t("audit.show")}
              </Button>
            ),
          },
        ]}
      />
      <Modal open={!!shown} title={shown?.route} footer={null} onCancel={() => setShown(null)} width={760}>
        {shown && (
          <>
            <p>
              {shown.who} · {formatInstant(shown.at, i18n.language)} · {shown.phase} · {t("audit.key")}: <code>{shown.idempotencyKey ?? "—"}</code>
            </p>
            <h3 style={{ fontSize: 14 }}>{t("audit.request")}</h3>
            <JsonBlock value={pretty(shown.request)} label={t("audit.request")} maxHeight={200} />
            <h3 style={{ fontSize: 14 }}>{t("audit.before")}</h3>
            <JsonBlock value={pretty(shown.before)} label={t("audit.before")} maxHeight={200} />
            <h3 style={{ fontSize: 14 }}>{t("audit.after")}</h3>
            <JsonBlock value={pretty(shown.after)} label={t("audit.after")} maxHeight={200} />
          </>
        )}
      </Modal>
    </>
  );
}
