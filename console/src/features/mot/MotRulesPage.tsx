/**
 * Key customer moments (客户关键时刻, MOT): the rules of the operator's subtree that turn a moment
 * of a customer's (a large outflow, a deposit maturing, an application abandoned...) into a task for
 * their relationship manager, or their branch's queue; a new rule; pausing and activating one (a
 * new version each time); each rule's report; and a branch's queue of tasks waiting for someone.
 */
import { PlusOutlined } from "@ant-design/icons";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { App, Button, Card, Drawer, Form, Input, InputNumber, Popconfirm, Select, Space, Table, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { ok, withIdempotencyKey } from "../../api/client";
import { useAuth } from "../../auth/AuthContext";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { PageTitle } from "../../components/PageTitle";
import { SectionHeading } from "../../components/SectionHeading";
import { StatusTag } from "../../components/StatusTag";
import { ListInput, MoneyInput } from "../../forms/fields";
import { useApi } from "../../lib/api";
import { formatMinor } from "../../lib/format";
import { useSave } from "../../lib/useSave";
import {
  triggerLabel,
  CHANNELS,
  MOMENT_TYPES,
  NEW_RULE,
  TASK_STATES,
  formatBankTime,
  parsePattern,
  ruleRequest,
  statusChange,
  statusOf,
  toggled,
  type MotRule,
  type MotRuleRequest,
  type PatternProblem,
  type RuleStatus,
  type RuleValues,
  type Task,
  type TaskState,
} from "./mot";
import { TaskStateTags, WhyText } from "./TaskTags";

const RULES_QUERY = ["mot-rules"];

export default function MotRulesPage() {
  const { t } = useTranslation();
  const api = useApi();
  const [creating, setCreating] = useState(false);
  const rules = useQuery({ queryKey: RULES_QUERY, queryFn: () => ok(api.GET("/v1/admin/mot-rules")) });
  return (
    <>
      <PageTitle
        title={t("mot.title")}
        extra={
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)} data-testid="mot-new-rule">
            {t("mot.newRule")}
          </Button>
        }
      >
        {t("mot.title")}
      </PageTitle>
      <Typography.Paragraph type="secondary">{t("mot.explain")}</Typography.Paragraph>
      <Card title={<SectionHeading>{t("mot.rules")}</SectionHeading>} style={{ marginBottom: 16 }}>
        <ApiErrorAlert error={rules.error} />
        <RulesTable rules={rules.data?.items ?? []} loading={rules.isLoading} />
      </Card>
      <BranchQueue />
      <RuleDrawer open={creating} onClose={() => setCreating(false)} />
    </>
  );
}

function RulesTable({ rules, loading }: { rules: MotRule[]; loading: boolean }) {
  const { t } = useTranslation();
  const api = useApi();
  const queryClient = useQueryClient();
  const { message } = App.useApp();
  const change = useSave<{ rule: MotRule; status: RuleStatus }, MotRule>({
    save: ({ rule, status }, key) =>
      ok(api.PUT("/v1/admin/mot-rules/{ruleId}", { params: { path: { ruleId: rule.ruleId } }, body: statusChange(rule, status), ...withIdempotencyKey(key) })),
    onSuccess: (rule) => {
      void queryClient.invalidateQueries({ queryKey: RULES_QUERY });
      message.success(t(statusOf(rule) === "paused" ? "mot.pausedDone" : "mot.activatedDone", { name: rule.name, version: rule.version }));
    },
  });
  return (
    <>
      <ApiErrorAlert error={change.error} />
      <Table<MotRule>
        aria-label={t("mot.rules")}
        size="small"
        rowKey="ruleId"
        loading={loading}
        dataSource={rules}
        pagination={{ pageSize: 50, hideOnSinglePage: true }}
        scroll={{ x: "max-content" }}
        locale={{ emptyText: t("mot.noRules") }}
        columns={[
          { title: t("mot.name"), dataIndex: "name", render: (name: string, rule) => <Link to={`/mot-rules/${encodeURIComponent(rule.ruleId)}`}>{name}</Link> },
          { title: t("mot.trigger"), key: "trigger", render: (_, rule) => triggerLabel(t, rule.trigger) },
          { title: t("mot.status"), key: "status", render: (_, rule) => <StatusTag status={statusOf(rule)} /> },
          { title: t("mot.priority"), key: "priority", align: "right", render: (_, rule) => rule.task.priority ?? 3 },
          { title: t("mot.sla"), key: "sla", align: "right", render: (_, rule) => t("mot.hours", { count: rule.task.slaHours ?? 48 }) },
          { title: t("mot.version"), dataIndex: "version", render: (version: number) => `v${version}` },
          { title: t("mot.orgUnit"), dataIndex: "orgUnitId", render: (unit?: string | null) => unit ?? t("mot.headOffice") },
          {
            title: t("common.actions"),
            key: "actions",
            render: (_, rule) => {
              const next = toggled(statusOf(rule));
              return (
                <Space size="small">
                  <Link to={`/mot-rules/${encodeURIComponent(rule.ruleId)}`} data-testid={`mot-report-${rule.ruleId}`}>
                    {t("mot.report")}
                  </Link>
                  <Popconfirm
                    title={t(next === "paused" ? "mot.pauseConfirm" : "mot.activateConfirm", { name: rule.name })}
                    onConfirm={() => change.mutate({ rule, status: next })}
                    okText={t("common.confirm")}
                    cancelText={t("common.cancel")}
                  >
                    <Button
                      size="small"
                      loading={change.isPending && change.variables?.rule.ruleId === rule.ruleId}
                      data-testid={`mot-toggle-${rule.ruleId}`}
                      aria-label={t(next === "paused" ? "mot.pauseRule" : "mot.activateRule", { name: rule.name })}
                    >
                      {t(next === "paused" ? "mot.pause" : "mot.activate")}
                    </Button>
                  </Popconfirm>
                </Space>
              );
            },
          },
        ]}
      />
    </>
  );
}

/** A pattern's problem in the person's language. */
function usePatternMessage(): (problem: PatternProblem) => string {
  const { t } = useTranslation();
  return (problem) => t(`mot.patternProblem.${problem.code}`, { path: problem.path, detail: problem.detail ?? "" });
}

const MONO = { fontFamily: "monospace", fontSize: 12 } as const;

function RuleDrawer({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const api = useApi();
  const queryClient = useQueryClient();
  const { message } = App.useApp();
  const { session } = useAuth();
  const [form] = Form.useForm<RuleValues>();
  const patternMessage = usePatternMessage();
  const save = useSave<MotRuleRequest, MotRule>({
    save: (body, key) => ok(api.POST("/v1/admin/mot-rules", { body, ...withIdempotencyKey(key) })),
    onSuccess: (rule) => {
      void queryClient.invalidateQueries({ queryKey: RULES_QUERY });
      message.success(t("mot.saved", { name: rule.name, id: rule.ruleId }));
      form.resetFields();
      onClose();
    },
  });
  const patternRule = (path: string) => ({
    validator: (_: unknown, value?: string) => {
      const { problem } = parsePattern(value, path);
      return problem ? Promise.reject(new Error(patternMessage(problem))) : Promise.resolve();
    },
  });
  const required = { required: true, whitespace: true, message: t("validation.required") };
  const submit = (values: RuleValues) => {
    const { body, problems } = ruleRequest(values);
    if (body) save.mutate(body);
    else form.setFields(problems.map(({ field, problem }) => ({ name: field, errors: [patternMessage(problem)] })));
  };
  const goal = Form.useWatch("goalEventType", form);
  const events = MOMENT_TYPES.map((type) => ({ value: type, label: t(`events.${type}`, { defaultValue: type }) }));
  return (
    <Drawer
      open={open}
      title={t("mot.newRule")}
      size={720}
      onClose={onClose}
      destroyOnHidden
      footer={
        <Space style={{ display: "flex", justifyContent: "flex-end" }}>
          <Button onClick={onClose}>{t("common.cancel")}</Button>
          <Button type="primary" loading={save.isPending} onClick={() => form.submit()} data-testid="mot-rule-save">
            {t("common.save")}
          </Button>
        </Space>
      }
    >
      <ApiErrorAlert error={save.error} />
      <Form<RuleValues> form={form} name="mot-rule" layout="vertical" initialValues={NEW_RULE} onFinish={submit} aria-label={t("mot.newRule")}>
        <Space wrap align="start">
          <Form.Item name="name" label={t("mot.name")} rules={[required]}>
            <Input style={{ width: 360 }} maxLength={64} data-testid="mot-rule-name" />
          </Form.Item>
          <Form.Item name="orgUnitId" label={t("mot.orgUnit")} extra={t("mot.orgUnitHint")}>
            <Input style={{ width: 200 }} placeholder={session?.orgUnit} />
          </Form.Item>
        </Space>

        <h3 style={SECTION}>{t("mot.triggerSection")}</h3>
        <Form.Item name="eventType" label={t("mot.eventType")} rules={[{ required: true, message: t("validation.required") }]}>
          <Select style={{ width: 320 }} options={events} />
        </Form.Item>
        <Form.Item name="pattern" label={t("mot.pattern")} extra={t("mot.patternHint")} rules={[patternRule("pattern")]}>
          <Input.TextArea autoSize={{ minRows: 3, maxRows: 12 }} spellCheck={false} style={MONO} placeholder='{"deltaMinor": [{"numeric": ["<=", -5000000]}]}' data-testid="mot-rule-pattern" />
        </Form.Item>

        <h3 style={SECTION}>{t("mot.audienceSection")}</h3>
        <Space wrap align="start">
          <Form.Item name="tiers" label={t("mot.tiers")}>
            <ListInput />
          </Form.Item>
          <Form.Item name="segments" label={t("mot.segments")}>
            <ListInput />
          </Form.Item>
          <Form.Item name="minAumMinor" label={t("mot.minAum")}>
            <MoneyInput />
          </Form.Item>
        </Space>

        <h3 style={SECTION}>{t("mot.taskSection")}</h3>
        <Space wrap align="start">
          <Form.Item name="priority" label={t("mot.priority")} extra={t("mot.priorityHint")}>
            <InputNumber min={1} max={5} precision={0} />
          </Form.Item>
          <Form.Item name="slaHours" label={t("mot.slaHours")}>
            <InputNumber min={1} max={720} precision={0} />
          </Form.Item>
          <Form.Item name="holdoutPercent" label={t("mot.holdoutPercent")} extra={t("mot.holdoutHint")}>
            <InputNumber min={0} max={50} precision={0} suffix="%" />
          </Form.Item>
        </Space>
        <Form.Item name="talkingPoints" label={t("mot.talkingPoints")} extra={t("mot.variablesHint")} rules={[required]}>
          <Input.TextArea autoSize={{ minRows: 2, maxRows: 6 }} maxLength={1000} data-testid="mot-rule-talking-points" />
        </Form.Item>
        <Form.Item name="offerTemplateId" label={t("mot.offerTemplate")} extra={t("mot.offerHint")}>
          <Input style={{ width: 280 }} placeholder={t("mot.optional")} />
        </Form.Item>
        <Space wrap align="start">
          <Form.Item name="messageChannel" label={t("mot.messageChannel")}>
            <Select style={{ width: 160 }} options={CHANNELS.map((c) => ({ value: c, label: t(`channels.${c}`) }))} />
          </Form.Item>
          <Form.Item name="messageContent" label={t("mot.messageContent")} extra={t("mot.messageHint")}>
            <Input.TextArea autoSize={{ minRows: 2, maxRows: 6 }} maxLength={1000} style={{ width: 440 }} placeholder={t("mot.optional")} />
          </Form.Item>
        </Space>

        <h3 style={SECTION}>{t("mot.goalSection")}</h3>
        <Typography.Paragraph type="secondary">{t("mot.goalHint")}</Typography.Paragraph>
        <Space wrap align="start">
          <Form.Item name="goalEventType" label={t("mot.goalEventType")}>
            <Select style={{ width: 320 }} options={events} allowClear placeholder={t("mot.noGoal")} />
          </Form.Item>
          <Form.Item name="goalWithinDays" label={t("mot.withinDays")}>
            <InputNumber min={1} max={90} precision={0} disabled={!goal} />
          </Form.Item>
        </Space>
        <Form.Item name="goalPattern" label={t("mot.goalPattern")} rules={[patternRule("goal.pattern")]}>
          <Input.TextArea autoSize={{ minRows: 2, maxRows: 10 }} spellCheck={false} style={MONO} disabled={!goal} placeholder='{"deltaMinor": [{"numeric": [">", 0]}]}' />
        </Form.Item>
      </Form>
    </Drawer>
  );
}

const SECTION = { fontSize: 14, margin: "8px 0 12px" } as const;

/** A branch's queue: tasks of customers without an RM, of RMs over their day's capacity, and overdue ones. */
function BranchQueue() {
  const { t, i18n } = useTranslation();
  const api = useApi();
  const { session } = useAuth();
  const [unit, setUnit] = useState(session?.orgUnit ?? "hq");
  const [status, setStatus] = useState<TaskState | undefined>(undefined);
  const [form] = Form.useForm<{ unit: string }>();
  const queue = useQuery({
    queryKey: ["mot-queue", unit, status ?? ""],
    enabled: unit !== "",
    queryFn: () =>
      ok(api.GET("/v1/admin/org-units/{unitId}/mot-tasks", { params: { path: { unitId: unit }, query: status ? { status } : {} } })),
  });
  return (
    <Card title={<SectionHeading>{t("mot.queue")}</SectionHeading>}>
      <Typography.Paragraph type="secondary">{t("mot.queueExplain")}</Typography.Paragraph>
      <Form form={form} name="mot-queue" layout="inline" initialValues={{ unit }} onFinish={(values) => setUnit(values.unit.trim())} aria-label={t("mot.queue")} style={{ marginBottom: 12 }}>
        <Form.Item name="unit" label={t("mot.orgUnit")} rules={[{ required: true, whitespace: true, message: t("validation.required") }]}>
          <Input style={{ width: 160 }} data-testid="mot-queue-unit" />
        </Form.Item>
        <Form.Item label={t("mot.taskStatus")} htmlFor="mot-queue-status">
          <Select<TaskState | "">
            id="mot-queue-status"
            style={{ width: 160 }}
            value={status ?? ""}
            onChange={(value) => setStatus(value || undefined)}
            options={[{ value: "", label: t("mot.allStates") }, ...TASK_STATES.map((s) => ({ value: s, label: t(`mot.taskState.${s}`) }))]}
          />
        </Form.Item>
        <Button htmlType="submit" loading={queue.isFetching}>
          {t("mot.show")}
        </Button>
      </Form>
      <ApiErrorAlert error={queue.error} />
      <Table<Task>
        aria-label={t("mot.queueOf", { unit })}
        size="small"
        rowKey="taskId"
        loading={queue.isLoading}
        dataSource={queue.data?.items ?? []}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        scroll={{ x: "max-content" }}
        locale={{ emptyText: t("mot.queueEmpty") }}
        columns={[
          { title: t("mot.priority"), dataIndex: "priority", align: "right" },
          { title: t("mot.customer"), dataIndex: "customerId", render: (id: string) => <Link to={`/customers/${encodeURIComponent(id)}`}>{id}</Link> },
          { title: t("mot.customerValue"), dataIndex: "customerValueMinor", align: "right", render: (v: number) => formatMinor(v, "CNY", i18n.language) },
          { title: t("mot.taskStatus"), key: "state", render: (_, task) => <TaskStateTags task={task} /> },
          { title: t("mot.reason"), dataIndex: "why", render: (why?: string | null) => <WhyText why={why} /> },
          { title: t("mot.assignee"), dataIndex: "assignee" },
          { title: t("mot.due"), dataIndex: "dueAt", render: (at: string) => formatBankTime(at, i18n.language) },
          { title: t("mot.rule"), dataIndex: "ruleId", render: (id: string) => <Link to={`/mot-rules/${encodeURIComponent(id)}`}>{id}</Link> },
        ]}
      />
    </Card>
  );
}
