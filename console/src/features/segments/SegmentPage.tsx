/** A segment (客群): its rule, built field by field; its size estimate (saved segments); its members. */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { App, Button, Card, Col, Form, Input, InputNumber, Row, Select, Skeleton, Space, Statistic, Switch, Typography } from "antd";
import { useCallback } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router";

import { ok, withIdempotencyKey } from "../../api/client";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { CursorTable } from "../../components/CursorTable";
import { NotAvailable } from "../../components/NotAvailable";
import { PageTitle } from "../../components/PageTitle";
import { ListInput, MoneyInput } from "../../forms/fields";
import { useValidatedForm } from "../../forms/useValidatedForm";
import { validator } from "../../forms/validator";
import { useApi } from "../../lib/api";
import { formatInstant, formatNumber } from "../../lib/format";
import { keys } from "../../lib/queries";
import type { Segment, SegmentDefinition, SegmentMember } from "../../lib/types";
import { useSave } from "../../lib/useSave";
import { segmentBody, type SegmentValues } from "./segmentModel";
import { SectionHeading } from "../../components/SectionHeading";

const STAGES = ["potential", "new", "active", "high_value", "silent", "churned"];
const RISKS = ["R1", "R2", "R3", "R4", "R5"];
const SCORES = ["rfmRecency", "rfmFrequency", "rfmMonetary", "value", "churnRiskBps", "abuseRisk"];

export default function SegmentPage() {
  const { segmentId } = useParams();
  const { t } = useTranslation();
  const api = useApi();
  const segment = useQuery({
    queryKey: ["segment", segmentId],
    enabled: !!segmentId,
    queryFn: () => ok(api.GET("/v1/admin/segments/{segmentId}", { params: { path: { segmentId: segmentId ?? "" } } })),
  });
  if (segmentId && !segment.data) {
    return (
      <>
        <PageTitle title={segmentId}>{segmentId}</PageTitle>
        <ApiErrorAlert error={segment.error} />
        {segment.isLoading && <Skeleton active />}
      </>
    );
  }
  const title = segment.data ? segment.data.name : t("segments.new");
  return (
    <>
      <PageTitle title={title}>{title}</PageTitle>
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={14}>
          <SegmentForm segment={segment.data ?? null} />
        </Col>
        <Col xs={24} xl={10}>{segment.data ? <Estimate segment={segment.data} /> : <NotAvailable what={t("segments.liveEstimate")} route="POST /v1/admin/segments/estimate" />}</Col>
        {segment.data && (
          <Col xs={24}>
            <Card title={<SectionHeading>{t("segments.members")}</SectionHeading>}>
              <CursorTable<SegmentMember>
                label={t("segments.members")}
                queryKey={["segment", segment.data.segmentId, "members"]}
                fetchPage={(cursor) => ok(api.GET("/v1/admin/segments/{segmentId}/members", { params: { path: { segmentId: segment.data?.segmentId ?? "" }, query: { limit: 500, ...(cursor ? { cursor } : {}) } } }))}
                rowKey={(m) => m.customerId}
                columns={[
                  { title: t("customers.id"), dataIndex: "customerId", render: (id: string) => <Link to={`/customers/${id}`}>{id}</Link> },
                  { title: t("segments.since"), dataIndex: "since", render: (v: string) => formatInstant(v, "zh-CN") },
                ]}
              />
            </Card>
          </Col>
        )}
      </Row>
    </>
  );
}

function Estimate({ segment }: { segment: Segment }) {
  const { t, i18n } = useTranslation();
  const api = useApi();
  const estimate = useQuery({
    queryKey: ["segment", segment.segmentId, "estimate", segment.version],
    queryFn: () => ok(api.GET("/v1/admin/segments/{segmentId}/estimate", { params: { path: { segmentId: segment.segmentId } } })),
  });
  return (
    <Card title={<SectionHeading>{t("segments.estimate")}</SectionHeading>}>
      <ApiErrorAlert error={estimate.error} />
      {estimate.data && (
        <div aria-live="polite">
          <Statistic title={t(estimate.data.exact ? "segments.exact" : "segments.estimated")} value={formatNumber(estimate.data.estimatedMembers, i18n.language)} data-testid="segment-estimate" />
          <Typography.Paragraph type="secondary">{t("segments.sampled", { sampled: estimate.data.sampled, matched: estimate.data.matched, version: estimate.data.version })}</Typography.Paragraph>
        </div>
      )}
      <Typography.Paragraph type="secondary">{t("segments.estimateSaved")}</Typography.Paragraph>
    </Card>
  );
}

function SegmentForm({ segment }: { segment: Segment | null }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const api = useApi();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<SegmentValues>();
  const initial: SegmentValues = segment ? { segmentId: segment.segmentId, name: segment.name, active: segment.active ?? true, rule: { ...segment.rule } as SegmentValues["rule"] } : { active: true, rule: { tagsAny: [], tagsAll: [], tagsNone: [], tiers: [], lifecycleStages: [], branchIds: [], riskLevels: [] } };
  const problemsOf = useCallback((values: SegmentValues) => validator.validate("SegmentDefinition", segmentBody(values)), []);
  const validated = useValidatedForm(form, initial, problemsOf);
  const save = useSave<SegmentDefinition, Segment>({
    save: (body, key) =>
      segment
        ? ok(api.PUT("/v1/admin/segments/{segmentId}", { params: { path: { segmentId: segment.segmentId } }, body, ...withIdempotencyKey(key) }))
        : ok(api.POST("/v1/admin/segments", { body, ...withIdempotencyKey(key) })),
    onSuccess: (saved) => {
      void queryClient.invalidateQueries({ queryKey: keys.segments });
      void queryClient.invalidateQueries({ queryKey: ["segment", saved.segmentId] });
      message.success(t("segments.saved", { id: saved.segmentId }));
      if (!segment) navigate(`/segments/${saved.segmentId}`);
    },
  });
  const submit = () => {
    if (validated.revealAll()) return;
    const body = segmentBody(form.getFieldsValue(true) as SegmentValues);
    save.mutate(body, { onError: (error) => validated.takeApiError(error, body) });
  };
  return (
    <Card title={<SectionHeading>{t("segments.rule")}</SectionHeading>}>
      <ApiErrorAlert error={save.error} extra={validated.general} />
      <Form<SegmentValues> form={form} layout="vertical" initialValues={initial} onValuesChange={validated.onValuesChange} aria-label={t("segments.rule")}>
        <Space wrap>
          <Form.Item name="segmentId" label={t("segments.id")}>
            <Input style={{ width: 220 }} disabled={!!segment} />
          </Form.Item>
          <Form.Item name="name" label={t("segments.name")}>
            <Input style={{ width: 300 }} />
          </Form.Item>
          <Form.Item name="active" label={t("points.active")} valuePropName="checked">
            <Switch />
          </Form.Item>
        </Space>
        <Space wrap>
          <Form.Item name={["rule", "tagsAny"]} label={t("builder.tagsAny")}>
            <ListInput />
          </Form.Item>
          <Form.Item name={["rule", "tagsAll"]} label={t("builder.tagsAll")}>
            <ListInput />
          </Form.Item>
          <Form.Item name={["rule", "tagsNone"]} label={t("segments.tagsNone")}>
            <ListInput />
          </Form.Item>
        </Space>
        <Space wrap>
          <Form.Item name={["rule", "tiers"]} label={t("builder.tiers")}>
            <ListInput />
          </Form.Item>
          <Form.Item name={["rule", "branchIds"]} label={t("builder.branchIds")}>
            <ListInput />
          </Form.Item>
        </Space>
        <Space wrap>
          <Form.Item name={["rule", "lifecycleStages"]} label={t("segments.stages")}>
            <Select mode="multiple" style={{ minWidth: 280 }} options={STAGES.map((s) => ({ value: s, label: t(`stages.${s}`) }))} />
          </Form.Item>
          <Form.Item name={["rule", "riskLevels"]} label={t("segments.riskLevels")}>
            <Select mode="multiple" style={{ minWidth: 200 }} options={RISKS.map((r) => ({ value: r, label: r }))} />
          </Form.Item>
        </Space>
        <Space wrap>
          <Form.Item name={["rule", "aumMinor", "min"]} label={t("segments.aumMin")}>
            <MoneyInput />
          </Form.Item>
          <Form.Item name={["rule", "aumMinor", "max"]} label={t("segments.aumMax")}>
            <MoneyInput />
          </Form.Item>
        </Space>
        <Typography.Text strong>{t("segments.scores")}</Typography.Text>
        <Row gutter={8}>
          {SCORES.map((score) => (
            <Col key={score} xs={24} md={12}>
              <Space>
                <Form.Item name={["rule", "scores", score, "min"]} label={`${t(`scores.${score}`)} ≥`}>
                  <InputNumber />
                </Form.Item>
                <Form.Item name={["rule", "scores", score, "max"]} label="≤">
                  <InputNumber aria-label={`${t(`scores.${score}`)} ≤`} />
                </Form.Item>
              </Space>
            </Col>
          ))}
        </Row>
        <Button type="primary" onClick={submit} loading={save.isPending} disabled={validated.blocked}>
          {t("common.save")}
        </Button>
      </Form>
    </Card>
  );
}
