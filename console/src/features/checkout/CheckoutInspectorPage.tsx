/**
 * The checkout inspector (结算查询, docs/checkout.md "Sessions" and "Refunds"): a customer's latest
 * checkout sessions, or one session by its id, each with its state, its order lines and what each
 * coupon took off each line, the coupons (who funds them, whether a refund gives them back), the
 * points and who funded them, the payment, and every refund with what it gave back. What a branch's
 * operator looks at when a customer asks about a checkout; `?customer=` (or `?session=`) links it.
 */
import { useQuery } from "@tanstack/react-query";
import { Alert, Button, Card, Descriptions, Empty, Form, Input, Space, Table, Tag, Typography } from "antd";
import { useEffect } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";

import { ok } from "../../api/client";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { PageTitle } from "../../components/PageTitle";
import { SectionHeading } from "../../components/SectionHeading";
import { TAG_COLOURS } from "../../components/StatusTag";
import { YesNo } from "../../components/YesNo";
import { useApi } from "../../lib/api";
import { formatInstant, formatMinor, formatNumber } from "../../lib/format";
import {
  fundersOf,
  isPaid,
  kept,
  lineRows,
  lookupOf,
  lookupParams,
  refundDiscount,
  refundedLines,
  type LineRow,
  type Refund,
  type Session,
  type SessionCoupon,
  type SessionState,
} from "./sessions";

/** The newest sessions shown for a customer (the API gives up to 100). */
const LIMIT = 20;

const STATE_COLOURS: Record<SessionState, string> = {
  locked: TAG_COLOURS.gold,
  confirmed: TAG_COLOURS.green,
  partly_refunded: TAG_COLOURS.orange,
  refunded: TAG_COLOURS.blue,
  cancelled: TAG_COLOURS.grey,
  lapsed: TAG_COLOURS.grey,
};

const SECTION = { fontSize: 14, margin: "16px 0 8px" } as const;

interface Values {
  customer?: string;
  session?: string;
}

export default function CheckoutInspectorPage() {
  const { t } = useTranslation();
  const api = useApi();
  const [params, setParams] = useSearchParams();
  const lookup = lookupOf(params);
  const customer = lookup?.customer ?? "";
  const sessionId = lookup?.session ?? "";
  const [form] = Form.useForm<Values>();
  // A link followed (or the back button) shows what it names in the form too.
  useEffect(() => form.setFieldsValue({ customer, session: sessionId }), [form, customer, sessionId]);

  const list = useQuery({
    queryKey: ["checkout-sessions", customer],
    enabled: customer !== "" && sessionId === "",
    queryFn: () =>
      ok(api.GET("/v1/admin/customers/{customerId}/checkout-sessions", { params: { path: { customerId: customer }, query: { limit: LIMIT } } })),
  });
  const one = useQuery({
    queryKey: ["checkout-session", sessionId],
    enabled: sessionId !== "",
    queryFn: () => ok(api.GET("/v1/checkout/sessions/{sessionId}", { params: { path: { sessionId } } })),
  });

  const search = (values: Values) => {
    const next = lookupParams(values);
    if (next.toString() === params.toString()) void (sessionId ? one.refetch() : list.refetch());
    else setParams(next);
  };
  const sessions: Session[] = sessionId ? (one.data ? [one.data] : []) : (list.data?.items ?? []);
  const loaded = sessionId ? one.isSuccess : list.isSuccess;

  return (
    <>
      <PageTitle title={t("inspector.title")}>{t("inspector.title")}</PageTitle>
      <Typography.Paragraph type="secondary">{t("inspector.explain")}</Typography.Paragraph>
      <Card style={{ marginBottom: 16 }}>
        <Form form={form} name="inspector" layout="inline" aria-label={t("inspector.lookup")} onFinish={search}>
          <Form.Item
            name="customer"
            label={t("inspector.customer")}
            rules={[
              ({ getFieldValue }) => ({
                validator: (_, value?: string) =>
                  value?.trim() || (getFieldValue("session") as string | undefined)?.trim()
                    ? Promise.resolve()
                    : Promise.reject(new Error(t("inspector.needOne"))),
              }),
            ]}
          >
            <Input placeholder="c-001" style={{ width: 200 }} data-testid="inspector-customer" allowClear />
          </Form.Item>
          <Form.Item name="session" label={t("inspector.session")}>
            <Input placeholder={t("inspector.optional")} style={{ width: 280 }} data-testid="inspector-session" allowClear />
          </Form.Item>
          <Space>
            <Button type="primary" htmlType="submit" data-testid="inspector-search" loading={list.isFetching || one.isFetching}>
              {t("inspector.search")}
            </Button>
          </Space>
        </Form>
      </Card>
      {!lookup && <Typography.Paragraph>{t("inspector.start")}</Typography.Paragraph>}
      <ApiErrorAlert error={sessionId ? one.error : list.error} />
      {one.data && customer && one.data.customerId !== customer && (
        <Alert
          type="warning"
          showIcon
          style={{ marginBottom: 16 }}
          title={t("inspector.otherCustomer", { owner: one.data.customerId, customer })}
          data-testid="inspector-other-customer"
        />
      )}
      {loaded && !sessionId && (
        <Typography.Paragraph data-testid="inspector-count">
          {t("inspector.count", { count: sessions.length, customer, limit: LIMIT })}
        </Typography.Paragraph>
      )}
      {loaded && sessions.length === 0 && <Empty description={t("inspector.none", { customer })} data-testid="inspector-empty" />}
      {sessions.map((session) => (
        <SessionCard key={session.sessionId} session={session} />
      ))}
    </>
  );
}

function StateTag({ state }: { state: SessionState }) {
  const { t } = useTranslation();
  return (
    <Tag color={STATE_COLOURS[state] ?? TAG_COLOURS.grey} data-status={state} data-testid="session-state">
      {t(`inspector.state.${state}`, { defaultValue: state })}
    </Tag>
  );
}

function SessionCard({ session }: { session: Session }) {
  const { t, i18n } = useTranslation();
  const money = (minor: number | null | undefined) => formatMinor(minor, session.currency, i18n.language);
  const number = (value: number) => formatNumber(value, i18n.language);
  const paid = isPaid(session.state);
  return (
    <Card
      title={<SectionHeading>{t("inspector.sessionTitle", { id: session.sessionId })}</SectionHeading>}
      extra={<StateTag state={session.state} />}
      style={{ marginBottom: 16 }}
      data-testid={`session-${session.sessionId}`}
    >
      <Descriptions
        size="small"
        column={{ xs: 1, md: 2, xl: 3 }}
        items={[
          { key: "customer", label: t("inspector.customer"), children: <Link to={`/customers/${encodeURIComponent(session.customerId)}`}>{session.customerId}</Link> },
          { key: "merchant", label: t("inspector.merchant"), children: `${session.order.merchantId} · ${session.order.channel}` },
          { key: "policy", label: t("inspector.policyVersion"), children: `v${session.policyVersion}` },
          { key: "created", label: t("inspector.createdAt"), children: formatInstant(session.createdAt, i18n.language) },
          session.state === "locked"
            ? { key: "lapses", label: t("inspector.lapsesAt"), children: formatInstant(session.lapsesAt, i18n.language) }
            : { key: "confirmed", label: t("inspector.confirmedAt"), children: formatInstant(session.confirmedAt, i18n.language) },
          { key: "closed", label: t("inspector.closedAt"), children: formatInstant(session.closedAt, i18n.language) },
          { key: "total", label: t("inspector.orderTotal"), children: money(session.orderTotalMinor) },
          { key: "discount", label: t("inspector.discount"), children: money(session.discountMinor) },
          {
            key: "points",
            label: t("inspector.points"),
            children: t("inspector.pointsWorth", { points: number(session.points.points), value: money(session.points.valueMinor) }),
          },
          { key: "payable", label: t("inspector.payable"), children: <Typography.Text strong>{money(session.payableMinor)}</Typography.Text> },
          { key: "payment", label: t("inspector.paymentId"), children: <span data-testid="session-payment">{session.paymentId ?? "—"}</span> },
        ]}
      />

      <h3 style={SECTION}>{t("inspector.lines")}</h3>
      <LinesTable session={session} money={money} />

      <h3 style={SECTION}>{t("inspector.coupons")}</h3>
      {session.coupons.length ? (
        <CouponsTable session={session} money={money} />
      ) : (
        <Typography.Paragraph type="secondary">{t("inspector.noCoupons")}</Typography.Paragraph>
      )}

      <h3 style={SECTION}>{t("inspector.points")}</h3>
      <div data-testid="session-points">
        {session.points.points ? (
          <Space wrap>
            <span>{t("inspector.pointsWorth", { points: number(session.points.points), value: money(session.points.valueMinor) })}</span>
            {session.points.funders.map((funder) => (
              <Tag key={funder.costCentre}>{t("inspector.funderPoints", { costCentre: funder.costCentre, points: number(funder.points) })}</Tag>
            ))}
          </Space>
        ) : (
          <Typography.Text type="secondary">{t("inspector.noPoints")}</Typography.Text>
        )}
      </div>

      <h3 style={SECTION}>{t("inspector.refunds")}</h3>
      {session.refunds.length ? (
        <RefundsTable session={session} money={money} number={number} />
      ) : (
        <Typography.Paragraph type="secondary">{t("inspector.noRefunds")}</Typography.Paragraph>
      )}
      {paid && session.refunds.length > 0 && <Kept session={session} money={money} number={number} />}
    </Card>
  );
}

type Money = (minor: number | null | undefined) => string;

function LinesTable({ session, money }: { session: Session; money: Money }) {
  const { t } = useTranslation();
  return (
    <Table<LineRow>
      aria-label={t("inspector.linesOf", { id: session.sessionId })}
      size="small"
      rowKey="lineId"
      pagination={false}
      dataSource={lineRows(session)}
      scroll={{ x: "max-content" }}
      columns={[
        { title: t("inspector.line"), dataIndex: "lineId" },
        { title: t("inspector.sku"), dataIndex: "sku" },
        { title: t("inspector.category"), dataIndex: "category" },
        { title: t("inspector.unitPrice"), dataIndex: "unitPriceMinor", align: "right", render: (v: number) => money(v) },
        { title: t("inspector.quantity"), dataIndex: "quantity", align: "right" },
        { title: t("inspector.amount"), dataIndex: "amountMinor", align: "right", render: (v: number) => money(v) },
        ...session.coupons.map((coupon) => ({
          key: `coupon-${coupon.couponId}`,
          title: t("inspector.couponOnLine", { id: coupon.couponId }),
          align: "right" as const,
          render: (_: unknown, row: LineRow) => (row.discounts[coupon.couponId] === undefined ? "—" : money(row.discounts[coupon.couponId])),
        })),
        { title: t("inspector.lineDiscount"), dataIndex: "discountMinor", align: "right", render: (v: number) => money(v) },
      ]}
    />
  );
}

function CouponsTable({ session, money }: { session: Session; money: Money }) {
  const { t } = useTranslation();
  return (
    <Table<SessionCoupon>
      aria-label={t("inspector.couponsOf", { id: session.sessionId })}
      size="small"
      rowKey="couponId"
      pagination={false}
      dataSource={session.coupons}
      scroll={{ x: "max-content" }}
      columns={[
        { title: t("inspector.coupon"), dataIndex: "couponId" },
        { title: t("inspector.template"), dataIndex: "templateId", render: (id: string) => <Link to={`/coupons/${encodeURIComponent(id)}`}>{id}</Link> },
        {
          title: t("inspector.campaign"),
          dataIndex: "campaignId",
          render: (id?: string | null) => (id ? <Link to={`/campaigns/${encodeURIComponent(id)}`}>{id}</Link> : "—"),
        },
        { title: t("inspector.couponDiscount"), dataIndex: "discountMinor", align: "right", render: (v: number) => money(v) },
        {
          title: t("inspector.funder"),
          key: "funder",
          render: (_, coupon) => {
            const { costCentre, merchantId } = fundersOf(coupon);
            if (!costCentre && !merchantId) return "—";
            return (
              <Space size={4} wrap>
                {costCentre && <Tag>{t("inspector.costCentre", { id: costCentre })}</Tag>}
                {merchantId && <Tag>{t("inspector.merchantFunded", { id: merchantId })}</Tag>}
              </Space>
            );
          },
        },
        {
          title: t("inspector.returnPolicy"),
          dataIndex: "returnPolicy",
          render: (policy: string) => t(`inspector.returnPolicies.${policy}`, { defaultValue: policy }),
        },
        { title: t("inspector.returned"), dataIndex: "returned", render: (returned: boolean) => <YesNo value={returned} /> },
      ]}
    />
  );
}

function RefundsTable({ session, money, number }: { session: Session; money: Money; number: (value: number) => string }) {
  const { t, i18n } = useTranslation();
  const total = session.refunded;
  return (
    <Table<Refund>
      aria-label={t("inspector.refundsOf", { id: session.sessionId })}
      size="small"
      rowKey="refundId"
      pagination={false}
      dataSource={session.refunds}
      scroll={{ x: "max-content" }}
      columns={[
        { title: t("inspector.refund"), dataIndex: "refundId" },
        { title: t("inspector.at"), dataIndex: "at", render: (at: string) => formatInstant(at, i18n.language) },
        {
          title: t("inspector.refundOf"),
          key: "what",
          render: (_, refund) => refundedLines(refund) ?? t("inspector.byAmount", { amount: money(refund.amountMinor) }),
        },
        { title: t("inspector.refundedValue"), dataIndex: "refundedMinor", align: "right", render: (v: number) => money(v) },
        {
          title: t("inspector.discountBack"),
          key: "coupons",
          render: (_, refund) => (
            <Space orientation="vertical" size={0}>
              <span>{money(refundDiscount(refund))}</span>
              {refund.coupons.map((coupon) => (
                <Typography.Text key={coupon.couponId} type="secondary" style={{ fontSize: 12 }}>
                  {`${coupon.couponId}: ${money(coupon.discountMinor)}`}
                  {coupon.returned ? ` · ${t("inspector.couponReturned")}` : ""}
                </Typography.Text>
              ))}
            </Space>
          ),
        },
        {
          title: t("inspector.pointsBack"),
          key: "points",
          align: "right",
          render: (_, refund) => t("inspector.pointsWorth", { points: number(refund.points.points), value: money(refund.points.valueMinor) }),
        },
        { title: t("inspector.cashBack"), dataIndex: "cashMinor", align: "right", render: (v: number) => money(v) },
      ]}
      summary={() => (
        <Table.Summary.Row data-testid="session-refunded">
          <Table.Summary.Cell index={0} colSpan={3}>
            <Typography.Text strong>{t("inspector.refundedTotal")}</Typography.Text>
          </Table.Summary.Cell>
          <Table.Summary.Cell index={3} align="right">{money(total.refundedMinor)}</Table.Summary.Cell>
          <Table.Summary.Cell index={4}>{money(total.discountMinor)}</Table.Summary.Cell>
          <Table.Summary.Cell index={5} align="right">{t("inspector.pointsOnly", { points: number(total.points) })}</Table.Summary.Cell>
          <Table.Summary.Cell index={6} align="right">{money(total.cashMinor)}</Table.Summary.Cell>
        </Table.Summary.Row>
      )}
    />
  );
}

function Kept({ session, money, number }: { session: Session; money: Money; number: (value: number) => string }) {
  const { t } = useTranslation();
  const left = kept(session);
  return (
    <Descriptions
      size="small"
      style={{ marginTop: 12 }}
      title={<span style={{ fontSize: 14 }}>{t("inspector.kept")}</span>}
      column={{ xs: 1, md: 2, xl: 4 }}
      items={[
        { key: "value", label: t("inspector.keptValue"), children: money(left.valueMinor) },
        { key: "discount", label: t("inspector.discount"), children: money(left.discountMinor) },
        { key: "points", label: t("inspector.points"), children: t("inspector.pointsOnly", { points: number(left.points) }) },
        { key: "cash", label: t("inspector.keptCash"), children: money(left.cashMinor) },
      ]}
    />
  );
}
