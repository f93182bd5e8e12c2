/**
 * A MOT rule and its report: what the rule says (its moment, whom it is for, the task it creates
 * and what counts as a conversion), the uplift of contacting customers against the customers held
 * out, and per rule, per relationship manager (or branch queue) and per branch the tasks created,
 * done (and within their SLA), their outcomes, the offers and messages sent and the conversions.
 */
import { useQuery } from "@tanstack/react-query";
import { Card, Col, Descriptions, Row, Skeleton, Space, Statistic, Table, Tag, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";

import { ok } from "../../api/client";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { JsonBlock } from "../../components/JsonBlock";
import { PageTitle } from "../../components/PageTitle";
import { SectionHeading } from "../../components/SectionHeading";
import { StatusTag, TAG_COLOURS } from "../../components/StatusTag";
import { useApi } from "../../lib/api";
import { formatInstant, formatMinor, formatNumber } from "../../lib/format";
import {
  triggerLabel,
  triggerMoment,
  SCOPES,
  conversionRate,
  formatRate,
  formatUplift,
  outcomeCounts,
  rowName,
  rowsByScope,
  statusOf,
  upliftTone,
  withinSlaRate,
  type MotReport,
  type MotReportRow,
  type MotRule,
  type Scope,
} from "./mot";

const TONE_COLOURS = { better: TAG_COLOURS.green, worse: TAG_COLOURS.red, same: TAG_COLOURS.grey, unknown: TAG_COLOURS.grey } as const;

export default function MotRuleReportPage() {
  const { ruleId = "" } = useParams();
  const { t } = useTranslation();
  const api = useApi();
  const rule = useQuery({
    queryKey: ["mot-rule", ruleId],
    queryFn: () => ok(api.GET("/v1/admin/mot-rules/{ruleId}", { params: { path: { ruleId } } })),
  });
  const report = useQuery({
    queryKey: ["mot-rule-report", ruleId],
    queryFn: () => ok(api.GET("/v1/admin/mot-rules/{ruleId}/report", { params: { path: { ruleId } } })),
    // Tasks are worked and goals happen as the day goes: the report follows them while it is open.
    refetchInterval: 15_000,
  });
  const title = t("mot.reportTitle", { name: rule.data?.name ?? ruleId });
  return (
    <>
      <PageTitle title={title}>
        {title} {rule.data && <StatusTag status={statusOf(rule.data)} />}
      </PageTitle>
      <Link to="/mot-rules">{t("mot.back")}</Link>
      <div style={{ marginTop: 16 }}>
        <ApiErrorAlert error={rule.error ?? report.error} />
        {rule.data && <RuleCard rule={rule.data} />}
        {report.data ? <Report report={report.data} /> : !report.error && <Skeleton active />}
      </div>
    </>
  );
}

function RuleCard({ rule }: { rule: MotRule }) {
  const { t, i18n } = useTranslation();
  const language = i18n.language;
  const audience = rule.audience ?? {};
  const task = rule.task;
  const event = (type: string) => t(`events.${type}`, { defaultValue: type });
  const pattern = (value: Record<string, unknown> | undefined) =>
    value && Object.keys(value).length ? <Typography.Text code>{JSON.stringify(value)}</Typography.Text> : t("mot.anyEvent");
  return (
    <Card title={<SectionHeading>{t("mot.ruleSection")}</SectionHeading>} style={{ marginBottom: 16 }} data-testid="mot-rule">
      <Descriptions
        size="small"
        column={{ xs: 1, md: 2, xl: 3 }}
        items={[
          { key: "id", label: t("mot.ruleId"), children: <Typography.Text code>{rule.ruleId}</Typography.Text> },
          { key: "version", label: t("mot.version"), children: `v${rule.version}` },
          { key: "unit", label: t("mot.orgUnit"), children: rule.orgUnitId ?? t("mot.headOffice") },
          { key: "trigger", label: t("mot.trigger"), children: triggerLabel(t, rule.trigger) },
          { key: "pattern", label: t("mot.pattern"), children: pattern(triggerMoment(rule.trigger)?.pattern) },
          {
            key: "audience",
            label: t("mot.audienceSection"),
            children: (
              <Space size={4} wrap>
                {(audience.tiers ?? []).map((tier) => <Tag key={`t-${tier}`}>{t("mot.tierTag", { tier })}</Tag>)}
                {(audience.segments ?? []).map((segment) => <Tag key={`s-${segment}`}>{t("mot.segmentTag", { segment })}</Tag>)}
                {audience.minAumMinor !== null && audience.minAumMinor !== undefined && (
                  <Tag>{t("mot.minAumTag", { amount: formatMinor(audience.minAumMinor, "CNY", language) })}</Tag>
                )}
                {!audience.tiers?.length && !audience.segments?.length && (audience.minAumMinor ?? null) === null && t("mot.everyone")}
              </Space>
            ),
          },
          { key: "priority", label: t("mot.priority"), children: task.priority ?? 3 },
          { key: "sla", label: t("mot.sla"), children: t("mot.hours", { count: task.slaHours ?? 48 }) },
          { key: "holdout", label: t("mot.holdoutPercent"), children: `${rule.holdoutPercent ?? 10}%` },
          { key: "talking", label: t("mot.talkingPoints"), children: task.talkingPoints, span: { xs: 1, md: 2, xl: 3 } },
          { key: "offer", label: t("mot.offerTemplate"), children: task.offer ? <Link to={`/coupons/${encodeURIComponent(task.offer.templateId)}`}>{task.offer.templateId}</Link> : "—" },
          {
            key: "message",
            label: t("mot.messageContent"),
            children: task.message ? `${t(`channels.${task.message.channel ?? "wecom"}`)} · ${task.message.content}` : "—",
            span: { xs: 1, md: 1, xl: 2 },
          },
          {
            key: "goal",
            label: t("mot.goalSection"),
            children: rule.goal ? (
              <Space size={4} wrap>
                <span>{t("mot.goalWithin", { event: event(rule.goal.moment.eventType), days: rule.goal.withinDays ?? 14 })}</span>
                {pattern(rule.goal.moment.pattern)}
              </Space>
            ) : (
              t("mot.noGoal")
            ),
            span: { xs: 1, md: 2, xl: 3 },
          },
          { key: "updated", label: t("mot.updated"), children: `${formatInstant(rule.updatedAt, language)} · ${rule.updatedBy}` },
        ]}
      />
      <div style={{ marginTop: 12 }}>
        <JsonBlock value={rule} label={t("mot.definition")} maxHeight={200} />
      </div>
    </Card>
  );
}

function Report({ report }: { report: MotReport }) {
  const { t, i18n } = useTranslation();
  const language = i18n.language;
  const grouped = rowsByScope(report);
  const tone = upliftTone(report.uplift);
  return (
    <>
      <Card title={<SectionHeading>{t("mot.uplift")}</SectionHeading>} style={{ marginBottom: 16 }} data-testid="mot-uplift">
        <Typography.Paragraph type="secondary">{t("mot.upliftExplain")}</Typography.Paragraph>
        <Row gutter={[16, 16]}>
          <Col xs={12} md={6}>
            <Statistic title={t("mot.contactedRate")} value={formatRate(report.contactedConversionRate, language)} />
          </Col>
          <Col xs={12} md={6}>
            <Statistic title={t("mot.holdoutRate")} value={formatRate(report.holdoutConversionRate, language)} />
          </Col>
          <Col xs={12} md={6}>
            <Statistic
              title={t("mot.upliftPoints")}
              value={formatUplift(report.uplift, language)}
              suffix={<Tag color={TONE_COLOURS[tone]}>{t(`mot.tone.${tone}`)}</Tag>}
            />
          </Col>
          <Col xs={12} md={6}>
            <Statistic
              title={t("mot.heldOut")}
              value={t("mot.heldOutValue", { heldOut: formatNumber(report.heldOut, language), conversions: formatNumber(report.holdoutConversions, language) })}
            />
          </Col>
        </Row>
      </Card>
      {SCOPES.map((scope) => (
        <Card key={scope} title={<SectionHeading>{t(`mot.scope.${scope}`)}</SectionHeading>} style={{ marginBottom: 16 }}>
          <RowsTable scope={scope} rows={grouped[scope]} />
        </Card>
      ))}
    </>
  );
}

function RowsTable({ scope, rows }: { scope: Scope; rows: MotReportRow[] }) {
  const { t, i18n } = useTranslation();
  const language = i18n.language;
  const number = (value: number) => formatNumber(value, language);
  return (
    <Table<MotReportRow>
      aria-label={t(`mot.scope.${scope}`)}
      size="small"
      rowKey={(row) => `${row.scope}:${row.id}`}
      pagination={{ pageSize: 20, hideOnSinglePage: true }}
      dataSource={rows}
      scroll={{ x: "max-content" }}
      locale={{ emptyText: t("mot.noTasksYet") }}
      columns={[
        {
          title: t(`mot.scopeId.${scope}`),
          dataIndex: "id",
          render: (id: string, row) => {
            const name = rowName(row);
            return name ? t(name.key, name.values) : id;
          },
        },
        { title: t("mot.created"), dataIndex: "created", align: "right", render: number },
        { title: t("mot.done"), dataIndex: "done", align: "right", render: number },
        {
          title: t("mot.withinSla"),
          key: "sla",
          align: "right",
          render: (_, row) => `${number(row.doneWithinSla)} (${formatRate(withinSlaRate(row), language)})`,
        },
        { title: t("mot.contacted"), dataIndex: "contacted", align: "right", render: number },
        { title: t("mot.offers"), dataIndex: "offers", align: "right", render: number },
        { title: t("mot.messages"), dataIndex: "messages", align: "right", render: number },
        {
          title: t("mot.conversions"),
          key: "conversions",
          align: "right",
          render: (_, row) => `${number(row.conversions)} (${formatRate(conversionRate(row), language)})`,
        },
        { title: t("mot.escalated"), dataIndex: "escalated", align: "right", render: number },
        { title: t("mot.expired"), dataIndex: "expired", align: "right", render: number },
        {
          title: t("mot.outcomes"),
          key: "outcomes",
          render: (_, row) => {
            const counts = outcomeCounts(row);
            return counts.length ? (
              <Space size={4} wrap>
                {counts.map(([outcome, count]) => (
                  <Tag key={outcome}>{`${t(`mot.outcome.${outcome}`, { defaultValue: outcome })} ${number(count)}`}</Tag>
                ))}
              </Space>
            ) : (
              "—"
            );
          },
        },
      ]}
    />
  );
}
