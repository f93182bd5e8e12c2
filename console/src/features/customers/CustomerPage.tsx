/** Customer 360: profile and tags, scores and segments, points, wallet, tasks and referrals, what operators did; PIPL export and erasure. */
import { DeleteOutlined, DownloadOutlined } from "@ant-design/icons";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Alert, App, Button, Card, Col, Descriptions, Input, InputNumber, Modal, Row, Select, Space, Statistic, Table, Tabs, Tag, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useParams } from "react-router";

import { ApiError, ok, withIdempotencyKey } from "../../api/client";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { CursorTable } from "../../components/CursorTable";
import { PageTitle } from "../../components/PageTitle";
import { StatusTag } from "../../components/StatusTag";
import { useApi } from "../../lib/api";
import { formatInstant, formatMinor } from "../../lib/format";
import type { AuditEntry, Coupon, HistoryEntry } from "../../lib/types";
import { useSave } from "../../lib/useSave";
import { SectionHeading } from "../../components/SectionHeading";

export default function CustomerPage() {
  const { customerId = "" } = useParams();
  const { t } = useTranslation();
  return (
    <>
      <PageTitle title={t("customers.titleOf", { id: customerId })} extra={<PrivacyActions customerId={customerId} />}>
        {t("customers.titleOf", { id: customerId })}
      </PageTitle>
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={12}>
          <Profile customerId={customerId} />
        </Col>
        <Col xs={24} xl={12}>
          <Scores customerId={customerId} />
        </Col>
        <Col xs={24}>
          <Card>
            <Tabs
              items={[
                { key: "points", label: t("customers.points"), children: <Points customerId={customerId} /> },
                { key: "wallet", label: t("customers.wallet"), children: <Wallet customerId={customerId} /> },
                { key: "tasks", label: t("customers.tasks"), children: <Tasks customerId={customerId} /> },
                { key: "operators", label: t("customers.operatorActions"), children: <OperatorActions customerId={customerId} /> },
              ]}
            />
          </Card>
        </Col>
      </Row>
    </>
  );
}

function Profile({ customerId }: { customerId: string }) {
  const { t, i18n } = useTranslation();
  const api = useApi();
  const queryClient = useQueryClient();
  const profile = useQuery({ queryKey: ["customer", customerId], queryFn: () => ok(api.GET("/v1/customers/{customerId}", { params: { path: { customerId } } })) });
  const [tags, setTags] = useState<string[] | null>(null);
  const saveTags = useSave<string[], unknown>({
    save: (next, key) => ok(api.PUT("/v1/admin/customers/{customerId}/tags", { params: { path: { customerId } }, body: { tags: next }, ...withIdempotencyKey(key) })),
    onSuccess: () => {
      setTags(null);
      void queryClient.invalidateQueries({ queryKey: ["customer", customerId] });
    },
  });
  const p = profile.data;
  return (
    <Card title={<SectionHeading>{t("customers.profile")}</SectionHeading>} loading={profile.isLoading}>
      <ApiErrorAlert error={profile.error} />
      {p && (
        <>
          <Descriptions
            size="small"
            column={1}
            items={[
              { key: "branch", label: t("customers.branch"), children: p.branchId ?? "—" },
              { key: "tier", label: t("customers.tier"), children: p.tier ?? "—" },
              { key: "stage", label: t("customers.stage"), children: p.lifecycleStage ? t(`stages.${p.lifecycleStage}`, { defaultValue: p.lifecycleStage }) : "—" },
              { key: "aum", label: "AUM", children: p.aum ? formatMinor(p.aum.amountMinor, p.aum.currency, i18n.language) : "—" },
              { key: "risk", label: t("customers.riskLevel"), children: p.riskLevel ?? "—" },
              { key: "birthday", label: t("customers.birthday"), children: p.birthday ?? "—" },
              { key: "channels", label: t("customers.channels"), children: p.channels.join(", ") || "—" },
              { key: "rm", label: t("customers.rm"), children: p.relationshipManagerId ?? "—" },
              { key: "bankTags", label: t("customers.bankTags"), children: p.tags.map((tag) => <Tag key={tag}>{tag}</Tag>) },
              { key: "updated", label: t("campaigns.updated"), children: formatInstant(p.updatedAt, i18n.language) },
            ]}
          />
          <Typography.Text strong>{t("customers.operatorTags")}</Typography.Text>
          <ApiErrorAlert error={saveTags.error} />
          <Space style={{ display: "flex", marginTop: 8 }} wrap>
            <Select
              aria-label={t("customers.operatorTags")}
              mode="tags"
              style={{ minWidth: 320 }}
              value={tags ?? p.operatorTags}
              onChange={(next: string[]) => setTags(next)}
              data-testid="operator-tags"
            />
            <Button type="primary" disabled={tags === null} loading={saveTags.isPending} onClick={() => tags && saveTags.mutate(tags)}>
              {t("customers.saveTags")}
            </Button>
          </Space>
        </>
      )}
    </Card>
  );
}

function Scores({ customerId }: { customerId: string }) {
  const { t, i18n } = useTranslation();
  const api = useApi();
  const scores = useQuery({
    queryKey: ["customer", customerId, "scores"],
    queryFn: async () => {
      try {
        return await ok(api.GET("/v1/admin/customers/{customerId}/scores", { params: { path: { customerId } } }));
      } catch (error) {
        if (error instanceof ApiError && error.code === "SCORES_NOT_FOUND") return null;
        throw error;
      }
    },
  });
  return (
    <Card title={<SectionHeading>{t("customers.scores")}</SectionHeading>} loading={scores.isLoading}>
      <ApiErrorAlert error={scores.error} />
      {scores.data === null && <Typography.Paragraph>{t("customers.notScored")}</Typography.Paragraph>}
      {scores.data && (
        <>
          <Row gutter={[8, 8]}>
            {Object.entries(scores.data.scores).map(([name, value]) => (
              <Col key={name} xs={12} md={8}>
                <Statistic title={t(`scores.${name}`, { defaultValue: name })} value={value} />
              </Col>
            ))}
          </Row>
          <Typography.Paragraph style={{ marginTop: 12 }}>
            {t("customers.segments")}: {scores.data.segments.length ? scores.data.segments.map((s) => <Tag key={s}>{s}</Tag>) : "—"}
          </Typography.Paragraph>
          <Typography.Text type="secondary">{t("customers.scoredAt", { at: formatInstant(scores.data.scoredAt, i18n.language) })}</Typography.Text>
          {scores.data.abuseGated && <Alert type="warning" showIcon title={t("customers.abuseGated")} style={{ marginTop: 8 }} />}
        </>
      )}
    </Card>
  );
}

function Points({ customerId }: { customerId: string }) {
  const { t, i18n } = useTranslation();
  const api = useApi();
  const queryClient = useQueryClient();
  const balance = useQuery({ queryKey: ["customer", customerId, "points"], queryFn: () => ok(api.GET("/v1/customers/{customerId}/points", { params: { path: { customerId } } })) });
  const [adjust, setAdjust] = useState<{ points: number | null; reason: string; costCentre: string }>({ points: null, reason: "", costCentre: "" });
  const save = useSave<typeof adjust, unknown>({
    save: (body, key) =>
      ok(api.POST("/v1/admin/customers/{customerId}/points/adjustments", { params: { path: { customerId } }, body: { points: body.points ?? 0, reason: body.reason, costCentre: body.costCentre }, ...withIdempotencyKey(key) })),
    onSuccess: () => {
      setAdjust({ points: null, reason: "", costCentre: "" });
      void queryClient.invalidateQueries({ queryKey: ["customer", customerId] });
    },
  });
  return (
    <>
      <ApiErrorAlert error={balance.error} />
      {balance.data && (
        <Row gutter={16} style={{ marginBottom: 16 }}>
          <Col xs={12} md={4}>
            <Statistic title={t("customers.available")} value={balance.data.available} data-testid="points-available" />
          </Col>
          <Col xs={12} md={4}>
            <Statistic title={t("customers.pending")} value={balance.data.pending} />
          </Col>
          <Col xs={12} md={4}>
            <Statistic title={t("customers.held")} value={balance.data.held} />
          </Col>
          <Col xs={12} md={4}>
            <Statistic title={t("points.debt")} value={balance.data.debt} />
          </Col>
          <Col xs={12} md={4}>
            <Statistic title={t("customers.growth")} value={balance.data.growth} />
          </Col>
          <Col xs={12} md={4}>
            <Statistic title={t("customers.expiring")} value={balance.data.expiringWithin30Days.reduce((s, e) => s + e.points, 0)} />
          </Col>
        </Row>
      )}
      <Card size="small" title={t("customers.adjust")} style={{ marginBottom: 16 }}>
        <ApiErrorAlert error={save.error} />
        <Space wrap>
          <InputNumber aria-label={t("builder.points")} placeholder={t("builder.points")} value={adjust.points} onChange={(points) => setAdjust({ ...adjust, points })} />
          <Input aria-label={t("customers.reason")} placeholder={t("customers.reason")} value={adjust.reason} onChange={(e) => setAdjust({ ...adjust, reason: e.target.value })} style={{ width: 240 }} />
          <Input aria-label={t("coupons.costCentre")} placeholder={t("coupons.costCentre")} value={adjust.costCentre} onChange={(e) => setAdjust({ ...adjust, costCentre: e.target.value })} style={{ width: 160 }} />
          <Button disabled={!adjust.points || !adjust.reason.trim() || !adjust.costCentre.trim()} loading={save.isPending} onClick={() => save.mutate(adjust)}>
            {t("customers.doAdjust")}
          </Button>
        </Space>
      </Card>
      <CursorTable<HistoryEntry>
        label={t("customers.history")}
        queryKey={["customer", customerId, "history"]}
        fetchPage={(cursor) => ok(api.GET("/v1/customers/{customerId}/points/history", { params: { path: { customerId }, query: { limit: 100, ...(cursor ? { cursor } : {}) } } }))}
        rowKey={(e) => e.entryId}
        height={360}
        columns={[
          { title: t("audit.at"), dataIndex: "at", width: 180, render: (v: string) => formatInstant(v, i18n.language) },
          { title: t("customers.kind"), dataIndex: "kind", width: 100, render: (k: string) => t(`history.${k}`, { defaultValue: k }) },
          { title: t("builder.points"), dataIndex: "points", width: 100 },
          { title: t("customers.growth"), dataIndex: "growth", width: 100 },
          { title: t("coupons.costCentre"), dataIndex: "costCentre", width: 140 },
          { title: t("customers.source"), key: "source", render: (_, e) => <code style={{ fontSize: 11 }}>{JSON.stringify(e.source)}</code> },
        ]}
      />
    </>
  );
}

function Wallet({ customerId }: { customerId: string }) {
  const { t, i18n } = useTranslation();
  const api = useApi();
  return (
    <CursorTable<Coupon>
      label={t("customers.wallet")}
      queryKey={["customer", customerId, "wallet"]}
      fetchPage={(cursor) => ok(api.GET("/v1/customers/{customerId}/coupons", { params: { path: { customerId }, query: { limit: 100, ...(cursor ? { cursor } : {}) } } }))}
      rowKey={(c) => c.couponId}
      height={360}
      columns={[
        { title: t("customers.coupon"), dataIndex: "couponId", width: 220 },
        { title: t("coupons.id"), dataIndex: "templateId", width: 180 },
        { title: t("coupons.kind"), dataIndex: "kind", width: 120, render: (k: string) => t(`couponKinds.${k}`, { defaultValue: k }) },
        { title: t("coupons.status"), dataIndex: "status", width: 110, render: (s: string) => <StatusTag status={s} /> },
        { title: t("customers.validUntil"), dataIndex: "validUntil", width: 180, render: (v: string) => formatInstant(v, i18n.language) },
        { title: t("customers.campaign"), dataIndex: "campaignId", width: 180 },
      ]}
    />
  );
}

function Tasks({ customerId }: { customerId: string }) {
  const { t } = useTranslation();
  const api = useApi();
  const tasks = useQuery({ queryKey: ["customer", customerId, "tasks"], queryFn: () => ok(api.GET("/v1/customers/{customerId}/tasks", { params: { path: { customerId } } })) });
  const referrals = useQuery({ queryKey: ["customer", customerId, "referrals"], queryFn: () => ok(api.GET("/v1/customers/{customerId}/referrals", { params: { path: { customerId } } })) });
  return (
    <Row gutter={16}>
      <Col xs={24} md={12}>
        <Typography.Title level={3} style={{ fontSize: 15 }}>
          {t("customers.tasks")}
        </Typography.Title>
        <ApiErrorAlert error={tasks.error} />
        <Table
          aria-label={t("customers.tasks")}
          size="small"
          pagination={false}
          rowKey="campaignId"
          dataSource={tasks.data?.tasks ?? []}
          columns={[
            { title: t("campaigns.name"), dataIndex: "name" },
            { title: t("customers.progress"), key: "progress", render: (_, task) => (task.kind === "streak" ? `${task.streak} / ${task.target}` : `${task.done} / ${task.target}`) },
          ]}
        />
      </Col>
      <Col xs={24} md={12}>
        <Typography.Title level={3} style={{ fontSize: 15 }}>
          {t("customers.referrals")}
        </Typography.Title>
        <ApiErrorAlert error={referrals.error} />
        {referrals.data && <Typography.Paragraph>{t("customers.inviteCode", { code: referrals.data.code ?? "—" })}</Typography.Paragraph>}
        <Table
          aria-label={t("customers.referrals")}
          size="small"
          pagination={false}
          rowKey={(r) => `${r.campaignId}-${r.invitee}`}
          dataSource={referrals.data?.referrals ?? []}
          columns={[
            { title: t("customers.invitee"), dataIndex: "invitee" },
            { title: t("coupons.status"), dataIndex: "status" },
            { title: t("customers.campaign"), dataIndex: "campaignId" },
          ]}
        />
      </Col>
    </Row>
  );
}

function OperatorActions({ customerId }: { customerId: string }) {
  const { t, i18n } = useTranslation();
  const api = useApi();
  return (
    <CursorTable<AuditEntry>
      label={t("customers.operatorActions")}
      queryKey={["audit", "customer", customerId]}
      fetchPage={(cursor) => ok(api.GET("/v1/admin/audit", { params: { query: { resource: `customers/${customerId}`, limit: 200, ...(cursor ? { cursor } : {}) } } }))}
      rowKey={(e) => `${e.actionId}-${e.phase}`}
      height={360}
      columns={[
        { title: t("audit.at"), dataIndex: "at", width: 180, render: (v: string) => formatInstant(v, i18n.language) },
        { title: t("audit.who"), dataIndex: "who", width: 140 },
        { title: t("audit.route"), dataIndex: "route", width: 320 },
        { title: t("audit.phase"), dataIndex: "phase", width: 110 },
        { title: t("audit.status"), dataIndex: "status", width: 80 },
      ]}
    />
  );
}

/** PIPL: everything the engine holds on the customer as a file; erasure after typing the id. */
function PrivacyActions({ customerId }: { customerId: string }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const api = useApi();
  const [erasing, setErasing] = useState(false);
  const [typed, setTyped] = useState("");
  const exportData = useSave<void, unknown>({
    save: (_, key) => ok(api.POST("/v1/admin/customers/{customerId}/export", { params: { path: { customerId } }, ...withIdempotencyKey(key) })),
    onSuccess: (data) => {
      const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
      const link = document.createElement("a");
      link.href = url;
      link.download = `customer-${customerId}-export.json`;
      document.body.appendChild(link);
      link.click();
      link.remove();
      URL.revokeObjectURL(url);
    },
  });
  const erase = useSave<void, unknown>({
    save: (_, key) => ok(api.POST("/v1/admin/customers/{customerId}/erase", { params: { path: { customerId } }, ...withIdempotencyKey(key) })),
    onSuccess: () => {
      setErasing(false);
      message.success(t("customers.erased", { id: customerId }));
    },
  });
  return (
    <Space>
      <Button icon={<DownloadOutlined />} loading={exportData.isPending} onClick={() => exportData.mutate()} data-testid="pipl-export">
        {t("customers.export")}
      </Button>
      <Button danger icon={<DeleteOutlined />} onClick={() => setErasing(true)} data-testid="pipl-erase">
        {t("customers.erase")}
      </Button>
      {exportData.error ? <ApiErrorAlert error={exportData.error} /> : null}
      <Modal
        open={erasing}
        title={t("customers.eraseTitle", { id: customerId })}
        okText={t("customers.erase")}
        okButtonProps={{ danger: true, disabled: typed !== customerId }}
        cancelText={t("common.cancel")}
        confirmLoading={erase.isPending}
        onOk={() => erase.mutate()}
        onCancel={() => setErasing(false)}
        destroyOnHidden
      >
        <Typography.Paragraph>{t("customers.eraseExplain")}</Typography.Paragraph>
        <ApiErrorAlert error={erase.error} />
        <label htmlFor="erase-confirm">{t("customers.typeToConfirm", { id: customerId })}</label>
        <Input id="erase-confirm" value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" />
      </Modal>
    </Space>
  );
}
