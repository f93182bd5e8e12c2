/**
 * The stacking policy (叠加规则, docs/checkout.md): the version in force, the version waiting for
 * approval (approved by an approver other than its author), and a new version proposed as the whole
 * policy (JSON, checked by the API: a refused one changes nothing).
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Alert, Button, Card, Descriptions, Form, Input, Popconfirm, Space, Table, Tag, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";

import { ok, withIdempotencyKey } from "../../api/client";
import { APPROVERS } from "../../auth/session";
import { useAuth } from "../../auth/AuthContext";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { JsonBlock } from "../../components/JsonBlock";
import { PageTitle } from "../../components/PageTitle";
import { SectionHeading } from "../../components/SectionHeading";
import { YesNo } from "../../components/YesNo";
import { useApi } from "../../lib/api";
import { formatInstant } from "../../lib/format";
import type { PolicyVersion, StackingPolicy } from "../../lib/types";
import { useSave } from "../../lib/useSave";
import { groupRows, parsePolicy } from "./policy";

const QUERY = ["stacking-policy"];

export default function StackingPolicyPage() {
  const { t } = useTranslation();
  const api = useApi();
  const policy = useQuery({ queryKey: QUERY, queryFn: () => ok(api.GET("/v1/admin/stacking-policy")) });
  const data = policy.data;
  return (
    <>
      <PageTitle title={t("stacking.title")}>{t("stacking.title")}</PageTitle>
      <Typography.Paragraph type="secondary">{t("stacking.explain")}</Typography.Paragraph>
      <ApiErrorAlert error={policy.error} />
      {data && (
        <>
          <VersionCard version={data.inForce} title={t("stacking.inForce", { version: data.inForce.version })} testId="policy-in-force" />
          {data.pending && <PendingCard version={data.pending} />}
          <ProposeCard start={(data.pending ?? data.inForce).policy} />
        </>
      )}
    </>
  );
}

function VersionCard({ version, title, testId, extra }: { version: PolicyVersion; title: string; testId: string; extra?: React.ReactNode }) {
  const { t, i18n } = useTranslation();
  const p = version.policy;
  return (
    <Card title={<SectionHeading>{title}</SectionHeading>} extra={extra} style={{ marginBottom: 16 }} data-testid={testId}>
      <Descriptions size="small" column={{ xs: 1, md: 3 }} style={{ marginBottom: 12 }}>
        <Descriptions.Item label={t("stacking.maxCoupons")}>{p.maxCoupons}</Descriptions.Item>
        <Descriptions.Item label={t("stacking.author")}>{version.author}</Descriptions.Item>
        <Descriptions.Item label={t("stacking.approvedBy")}>
          {version.approvedBy ? `${version.approvedBy} · ${formatInstant(version.approvedAt ?? "", i18n.language)}` : "—"}
        </Descriptions.Item>
        <Descriptions.Item label={t("stacking.points")}>
          {t("stacking.pointsRule", { value: p.points?.pointValueMinor ?? 1, share: p.points?.maxSharePercent ?? 100 })}
        </Descriptions.Item>
        <Descriptions.Item label={t("stacking.withCoupons")}><YesNo value={p.points?.withCoupons ?? true} /></Descriptions.Item>
        <Descriptions.Item label={t("stacking.order")}>
          {(p.order ?? []).map((step) => <Tag key={step.kind}>{`${t(`stacking.kind.${step.kind}`)} · ${t(`stacking.base.${step.base}`)}`}</Tag>)}
        </Descriptions.Item>
      </Descriptions>
      {version.note && <Typography.Paragraph>{version.note}</Typography.Paragraph>}
      <Table
        aria-label={t("stacking.groups")}
        size="small"
        rowKey="name"
        pagination={false}
        dataSource={groupRows(p)}
        columns={[
          { title: t("stacking.group"), dataIndex: "name" },
          { title: t("stacking.exclusive"), dataIndex: "exclusive", render: (value: boolean) => <YesNo value={value} /> },
          { title: t("stacking.maxPerOrder"), dataIndex: "maxPerOrder" },
          { title: t("stacking.combinesWith"), dataIndex: "combinesWith", render: (groups: string[]) => groups.map((g) => <Tag key={g}>{g === "*" ? t("stacking.any") : g}</Tag>) },
          { title: t("stacking.templates"), dataIndex: "templates", render: (ids: string[]) => ids.join(", ") || "—" },
        ]}
      />
    </Card>
  );
}

function PendingCard({ version }: { version: PolicyVersion }) {
  const { t } = useTranslation();
  const api = useApi();
  const queryClient = useQueryClient();
  const { session, can } = useAuth();
  const approve = useSave<number, unknown>({
    save: (number, key) =>
      ok(api.POST("/v1/admin/stacking-policy/versions/{version}/approve", { params: { path: { version: number } }, ...withIdempotencyKey(key) })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: QUERY }),
  });
  const own = session?.subject === version.author;
  const action = !can(APPROVERS) ? (
    <Typography.Text type="secondary">{t("stacking.needsApprover")}</Typography.Text>
  ) : own ? (
    <Typography.Text type="secondary">{t("stacking.ownVersion")}</Typography.Text>
  ) : (
    <Popconfirm title={t("stacking.approveConfirm", { version: version.version })} onConfirm={() => approve.mutate(version.version)}>
      <Button type="primary" data-testid="policy-approve" loading={approve.isPending}>{t("stacking.approve")}</Button>
    </Popconfirm>
  );
  return (
    <>
      <ApiErrorAlert error={approve.error} />
      <VersionCard version={version} title={t("stacking.pending", { version: version.version })} testId="policy-pending" extra={action} />
    </>
  );
}

function ProposeCard({ start }: { start: StackingPolicy }) {
  const { t } = useTranslation();
  const api = useApi();
  const queryClient = useQueryClient();
  const [text, setText] = useState(() => JSON.stringify(start, null, 2));
  const [note, setNote] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const propose = useSave<{ policy: StackingPolicy; note?: string }, unknown>({
    save: (body, key) => ok(api.PUT("/v1/admin/stacking-policy", { body, ...withIdempotencyKey(key) })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: QUERY }),
  });
  const submit = () => {
    const parsed = parsePolicy(text);
    setProblem(parsed.problem);
    if (parsed.policy) propose.mutate({ policy: parsed.policy, ...(note.trim() ? { note: note.trim() } : {}) });
  };
  return (
    <Card title={<SectionHeading>{t("stacking.propose")}</SectionHeading>}>
      <Typography.Paragraph type="secondary">{t("stacking.proposeExplain")}</Typography.Paragraph>
      {problem && <Alert type="error" showIcon message={t("stacking.notJson", { problem })} style={{ marginBottom: 12 }} />}
      <ApiErrorAlert error={propose.error} />
      <Form layout="vertical" onFinish={submit}>
        <Form.Item label={t("stacking.policyJson")} htmlFor="policy-json">
          <Input.TextArea id="policy-json" value={text} onChange={(e) => setText(e.target.value)} autoSize={{ minRows: 10, maxRows: 30 }}
            spellCheck={false} style={{ fontFamily: "monospace", fontSize: 12 }} />
        </Form.Item>
        <Form.Item label={t("stacking.note")} htmlFor="policy-note">
          <Input id="policy-note" value={note} onChange={(e) => setNote(e.target.value)} maxLength={2000} />
        </Form.Item>
        <Space>
          <Button type="primary" htmlType="submit" loading={propose.isPending} data-testid="policy-propose">{t("stacking.submit")}</Button>
        </Space>
      </Form>
      <div style={{ marginTop: 16 }}>
        <JsonBlock value={start} label={t("stacking.current")} maxHeight={200} />
      </div>
    </Card>
  );
}
