/**
 * The relationship manager's workbench (客户经理工作台): their own tasks, ranked as the API ranks
 * them (the most urgent first, then the most valuable customer, then the earliest due), each with
 * what to say, when it is due (in the bank's time zone) and why it is theirs; started, completed
 * with an outcome, and the rule's offer and message sent from here. And their book: the customers
 * whose profile names them, with their assets, level, segments, open tasks and the last contact.
 */
import { ReloadOutlined } from "@ant-design/icons";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Button, Card, Descriptions, Empty, Form, Input, Modal, Select, Skeleton, Space, Table, Tabs, Tag, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";

import { ok, withIdempotencyKey } from "../../api/client";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { PageTitle } from "../../components/PageTitle";
import { SectionHeading } from "../../components/SectionHeading";
import { TAG_COLOURS } from "../../components/StatusTag";
import { useApi } from "../../lib/api";
import { formatMinor, formatNumber } from "../../lib/format";
import { useSave } from "../../lib/useSave";
import {
  BANK_TIME_ZONE,
  OUTCOMES,
  TASK_STATES,
  canComplete,
  canMessage,
  canOffer,
  canStart,
  formatBankTime,
  type BookCustomer,
  type Outcome,
  type Task,
  type TaskState,
} from "./mot";
import { TaskStateTags, WhyText } from "./TaskTags";

const TABS = ["tasks", "book"] as const;
type Tab = (typeof TABS)[number];
const TASKS = ["rm-tasks"];
const BOOK = ["rm-book"];
/** New tasks arrive as the bank's events do: the list follows them while it is open. */
const REFRESH_MS = 10_000;

const PRIORITY_COLOURS: Record<number, string> = { 1: TAG_COLOURS.red, 2: TAG_COLOURS.orange };

export default function RmWorkbenchPage() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const tab: Tab = params.get("tab") === "book" ? "book" : "tasks";
  return (
    <>
      <PageTitle title={`${t("rm.title")} · ${t(`rm.tabs.${tab}`)}`}>{t("rm.title")}</PageTitle>
      <Typography.Paragraph type="secondary">{t("rm.explain", { zone: BANK_TIME_ZONE })}</Typography.Paragraph>
      <Tabs
        activeKey={tab}
        onChange={(key) => setParams(key === "tasks" ? {} : { tab: key })}
        destroyOnHidden
        items={TABS.map((key) => ({ key, label: t(`rm.tabs.${key}`), children: key === "tasks" ? <TasksTab /> : <BookTab /> }))}
      />
    </>
  );
}

// ---- my tasks ---------------------------------------------------------------------------------------

function TasksTab() {
  const { t } = useTranslation();
  const api = useApi();
  const [status, setStatus] = useState<TaskState | "">("");
  const tasks = useQuery({
    queryKey: [...TASKS, status],
    queryFn: () => ok(api.GET("/v1/rm/tasks", { params: { query: status ? { status } : {} } })),
    refetchInterval: REFRESH_MS,
  });
  const items = tasks.data?.items ?? [];
  return (
    <>
      <Space wrap style={{ marginBottom: 16 }}>
        <label htmlFor="rm-task-status">{t("mot.taskStatus")}</label>
        <Select<TaskState | "">
          id="rm-task-status"
          style={{ width: 180 }}
          value={status}
          onChange={setStatus}
          options={[{ value: "", label: t("mot.allStates") }, ...TASK_STATES.map((s) => ({ value: s, label: t(`mot.taskState.${s}`) }))]}
        />
        <Button icon={<ReloadOutlined />} onClick={() => void tasks.refetch()} loading={tasks.isFetching} data-testid="rm-refresh">
          {t("rm.refresh")}
        </Button>
      </Space>
      <ApiErrorAlert error={tasks.error} />
      {tasks.isLoading && <Skeleton active />}
      {tasks.isSuccess && (
        <Typography.Paragraph data-testid="rm-task-count" aria-live="polite">
          {t("rm.count", { count: items.length })}
        </Typography.Paragraph>
      )}
      {tasks.isSuccess && items.length === 0 && <Empty description={t("rm.noTasks")} data-testid="rm-no-tasks" />}
      <ol aria-label={t("rm.ranked")} style={{ listStyle: "none", padding: 0, margin: 0 }}>
        {items.map((task, index) => (
          <li key={task.taskId}>
            <TaskCard task={task} rank={index + 1} />
          </li>
        ))}
      </ol>
    </>
  );
}

function TaskCard({ task, rank }: { task: Task; rank: number }) {
  const { t, i18n } = useTranslation();
  const language = i18n.language;
  const api = useApi();
  const queryClient = useQueryClient();
  const [completing, setCompleting] = useState(false);
  const path = { params: { path: { taskId: task.taskId } } };
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: TASKS });
    void queryClient.invalidateQueries({ queryKey: BOOK });
  };
  // One save per action and task: each its own Idempotency-Key, kept across retries of that action only.
  const start = useSave<void, Task>({
    save: (_, key) => ok(api.POST("/v1/rm/tasks/{taskId}/start", { ...path, ...withIdempotencyKey(key) })),
    onSuccess: refresh,
  });
  const offer = useSave<void, Task>({
    save: (_, key) => ok(api.POST("/v1/rm/tasks/{taskId}/offer", { ...path, ...withIdempotencyKey(key) })),
    onSuccess: refresh,
  });
  const message = useSave<void, Task>({
    save: (_, key) => ok(api.POST("/v1/rm/tasks/{taskId}/message", { ...path, ...withIdempotencyKey(key) })),
    onSuccess: refresh,
  });
  const complete = useSave<{ outcome: Outcome; note?: string }, Task>({
    save: (body, key) => ok(api.POST("/v1/rm/tasks/{taskId}/complete", { ...path, body, ...withIdempotencyKey(key) })),
    onSuccess: () => {
      setCompleting(false);
      refresh();
    },
  });
  // The latest failure of this task's actions (an action clears its own when tried again).
  const failure = [start, offer, message].filter((action) => action.error).sort((a, b) => b.submittedAt - a.submittedAt)[0]?.error ?? null;
  const heading = t("rm.taskTitle", { rank, customer: task.customerId });

  return (
    <Card
      title={<SectionHeading>{heading}</SectionHeading>}
      extra={<TaskStateTags task={task} />}
      style={{ marginBottom: 16 }}
      data-testid={`task-${task.taskId}`}
      data-state={task.state}
    >
      <ApiErrorAlert error={failure} />
      <Descriptions
        size="small"
        column={{ xs: 1, md: 2, xl: 4 }}
        items={[
          {
            key: "priority",
            label: t("mot.priority"),
            children: <Tag color={PRIORITY_COLOURS[task.priority] ?? TAG_COLOURS.grey}>{t("rm.priority", { priority: task.priority })}</Tag>,
          },
          { key: "customer", label: t("mot.customer"), children: <span data-testid="task-customer">{task.customerId}</span> },
          { key: "value", label: t("mot.customerValue"), children: formatMinor(task.customerValueMinor, "CNY", language) },
          { key: "due", label: t("mot.due"), children: <span data-testid="task-due">{formatBankTime(task.dueAt, language)}</span> },
          { key: "talking", label: t("mot.talkingPoints"), children: <span data-testid="task-talking-points">{task.talkingPoints}</span>, span: "filled" },
          // Why it is theirs when it came back to them (a task of their own needs no reason).
          ...(task.why ? [{ key: "why", label: t("mot.reason"), children: <WhyText why={task.why} /> }] : []),
          { key: "created", label: t("rm.createdAt"), children: formatBankTime(task.createdAt, language) },
          ...(task.offer
            ? [{ key: "offer", label: t("rm.offer"), children: task.offerCouponId ? t("rm.offerSent", { coupon: task.offerCouponId }) : task.offer.templateId }]
            : []),
          ...(task.message
            ? [
                {
                  key: "message",
                  label: t("rm.message", { channel: t(`channels.${task.message.channel ?? "wecom"}`) }),
                  children: (
                    <span>
                      {task.message.content}
                      {task.messageId && <Tag style={{ marginInlineStart: 8 }}>{t("rm.messageSent")}</Tag>}
                    </span>
                  ),
                },
              ]
            : []),
          ...(task.outcome
            ? [
                {
                  key: "outcome",
                  label: t("rm.outcome"),
                  children: (
                    <span data-testid="task-outcome">
                      {t(`mot.outcome.${task.outcome}`)}
                      {task.completedAt ? ` · ${formatBankTime(task.completedAt, language)}` : ""}
                      {task.note ? ` · ${task.note}` : ""}
                    </span>
                  ),
                },
              ]
            : []),
        ]}
      />
      {canComplete(task) && (
        <Space wrap style={{ marginTop: 12 }}>
          {canStart(task) && (
            <Button type="primary" onClick={() => start.mutate()} loading={start.isPending} data-testid="task-start">
              {t("rm.start")}
            </Button>
          )}
          <Button onClick={() => setCompleting(true)} data-testid="task-complete">
            {t("rm.complete")}
          </Button>
          {task.offer && (
            <Button onClick={() => offer.mutate()} loading={offer.isPending} disabled={!canOffer(task)} data-testid="task-offer">
              {t("rm.sendOffer")}
            </Button>
          )}
          {task.message && (
            <Button onClick={() => message.mutate()} loading={message.isPending} disabled={!canMessage(task)} data-testid="task-message">
              {t("rm.sendMessage")}
            </Button>
          )}
        </Space>
      )}
      <CompleteModal
        open={completing}
        customer={task.customerId}
        saving={complete.isPending}
        error={complete.error}
        onCancel={() => setCompleting(false)}
        onSubmit={(body) => complete.mutate(body)}
      />
    </Card>
  );
}

interface CompleteValues {
  outcome?: Outcome;
  note?: string;
}

function CompleteModal({
  open,
  customer,
  saving,
  error,
  onCancel,
  onSubmit,
}: {
  open: boolean;
  customer: string;
  saving: boolean;
  error: unknown;
  onCancel: () => void;
  onSubmit: (body: { outcome: Outcome; note?: string }) => void;
}) {
  const { t } = useTranslation();
  const [form] = Form.useForm<CompleteValues>();
  const submit = (values: CompleteValues) => {
    if (!values.outcome) return;
    const note = values.note?.trim();
    onSubmit({ outcome: values.outcome, ...(note ? { note } : {}) });
  };
  return (
    <Modal
      open={open}
      title={t("rm.completeTitle", { customer })}
      okText={t("rm.complete")}
      cancelText={t("common.cancel")}
      confirmLoading={saving}
      onCancel={onCancel}
      onOk={() => form.submit()}
      destroyOnHidden
    >
      <ApiErrorAlert error={error} />
      <Form<CompleteValues> form={form} name="rm-complete" layout="vertical" onFinish={submit} aria-label={t("rm.completeTitle", { customer })}>
        <Form.Item name="outcome" label={t("rm.outcome")} rules={[{ required: true, message: t("validation.required") }]}>
          <Select<Outcome> options={OUTCOMES.map((o) => ({ value: o, label: t(`mot.outcome.${o}`) }))} placeholder={t("rm.chooseOutcome")} />
        </Form.Item>
        <Form.Item name="note" label={t("rm.note")}>
          <Input.TextArea maxLength={2000} autoSize={{ minRows: 3, maxRows: 8 }} placeholder={t("mot.optional")} />
        </Form.Item>
      </Form>
    </Modal>
  );
}

// ---- my book ----------------------------------------------------------------------------------------

function BookTab() {
  const { t, i18n } = useTranslation();
  const language = i18n.language;
  const api = useApi();
  const book = useQuery({ queryKey: BOOK, queryFn: () => ok(api.GET("/v1/rm/customers")) });
  return (
    <>
      <ApiErrorAlert error={book.error} />
      <Table<BookCustomer>
        aria-label={t("rm.tabs.book")}
        size="small"
        rowKey="customerId"
        loading={book.isLoading}
        dataSource={book.data?.items ?? []}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        scroll={{ x: "max-content" }}
        locale={{ emptyText: t("rm.noCustomers") }}
        columns={[
          { title: t("mot.customer"), dataIndex: "customerId" },
          { title: t("rm.aum"), key: "aum", align: "right", render: (_, c) => formatMinor(c.aumMinor, c.currency, language) },
          { title: t("rm.tier"), dataIndex: "tier", render: (tier?: string | null) => tier ?? "—" },
          {
            title: t("mot.segments"),
            dataIndex: "segments",
            render: (segments: string[]) => (segments.length ? segments.map((s) => <Tag key={s}>{s}</Tag>) : "—"),
          },
          { title: t("rm.openTasks"), dataIndex: "openTasks", align: "right", render: (n: number) => formatNumber(n, language) },
          { title: t("rm.lastContact"), dataIndex: "lastContactAt", render: (at?: string | null) => formatBankTime(at, language) },
          { title: t("rm.since"), dataIndex: "since", render: (at: string) => formatBankTime(at, language) },
        ]}
      />
    </>
  );
}
