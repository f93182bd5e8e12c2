import { UploadOutlined } from "@ant-design/icons";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Alert, App, Button, Card, Descriptions, InputNumber, Popconfirm, Progress, Skeleton, Space, Typography } from "antd";
import { useState, type ChangeEvent } from "react";
import { useTranslation } from "react-i18next";
import { useParams } from "react-router";

import { newIdempotencyKey, ok, retrying, withIdempotencyKey } from "../../api/client";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { JsonBlock } from "../../components/JsonBlock";
import { NotAvailable } from "../../components/NotAvailable";
import { PageTitle } from "../../components/PageTitle";
import { StatusTag } from "../../components/StatusTag";
import { useApi } from "../../lib/api";
import { batches, parseCodes } from "../../lib/csv";
import { formatInstant, formatNumber } from "../../lib/format";
import { keys } from "../../lib/queries";
import type { CouponTemplateWithStock } from "../../lib/types";
import { useSave } from "../../lib/useSave";
import { nextStatuses } from "./couponModel";
import { SectionHeading } from "../../components/SectionHeading";

export default function CouponTemplatePage() {
  const { templateId = "" } = useParams();
  const { t, i18n } = useTranslation();
  const api = useApi();
  const template = useQuery({
    queryKey: keys.couponTemplate(templateId),
    queryFn: () => ok(api.GET("/v1/admin/coupon-templates/{templateId}", { params: { path: { templateId } } })),
  });
  if (!template.data) {
    return (
      <>
        <PageTitle title={templateId}>{templateId}</PageTitle>
        <ApiErrorAlert error={template.error} />
        {template.isLoading && <Skeleton active />}
      </>
    );
  }
  const tpl = template.data;
  return (
    <>
      <PageTitle title={tpl.name}>
        {tpl.name} <StatusTag status={tpl.status} />
      </PageTitle>
      <StatusActions template={tpl} />
      <Descriptions
        bordered
        size="small"
        column={{ xs: 1, md: 2 }}
        style={{ marginBottom: 16 }}
        items={[
          { key: "id", label: t("coupons.id"), children: tpl.templateId },
          { key: "kind", label: t("coupons.kind"), children: t(`couponKinds.${tpl.benefit.kind}`) },
          { key: "stock", label: t("coupons.totalStock"), children: formatNumber(tpl.totalStock, i18n.language) },
          { key: "added", label: t("coupons.stockAdded"), children: formatNumber(tpl.stockAdded, i18n.language) },
          { key: "left", label: t("coupons.stockLeft"), children: <span data-testid="stock-left">{formatNumber(tpl.stockLeft, i18n.language)}</span> },
          { key: "shards", label: t("coupons.shards"), children: tpl.shards ?? 1 },
          { key: "version", label: t("campaign.version"), children: tpl.version },
          { key: "created", label: t("coupons.createdBy"), children: `${tpl.createdBy} · ${formatInstant(tpl.createdAt, i18n.language)}` },
        ]}
      />
      <Card title={<SectionHeading>{t("coupons.stockPerShard")}</SectionHeading>} style={{ marginBottom: 16 }}>
        <NotAvailable what={t("coupons.stockPerShard")} route="GET /v1/admin/coupon-templates/{templateId}/stock" />
      </Card>
      <AddStock template={tpl} />
      {tpl.benefit.kind === "voucher_code" && <UploadCodes template={tpl} />}
      <Card title={<SectionHeading>{t("coupons.definition")}</SectionHeading>}>
        <JsonBlock label={t("coupons.definition")} value={{ benefit: tpl.benefit, validity: tpl.validity, limits: tpl.limits, eligibility: tpl.eligibility, funding: tpl.funding, redemption: tpl.redemption }} />
      </Card>
    </>
  );
}

function useRefresh(templateId: string) {
  const queryClient = useQueryClient();
  return () => {
    void queryClient.invalidateQueries({ queryKey: keys.couponTemplate(templateId) });
    void queryClient.invalidateQueries({ queryKey: ["coupon-templates"] });
  };
}

function StatusActions({ template }: { template: CouponTemplateWithStock }) {
  const { t } = useTranslation();
  const api = useApi();
  const refresh = useRefresh(template.templateId);
  const change = useSave<"active" | "paused" | "ended", unknown>({
    save: (status, key) => ok(api.PUT("/v1/admin/coupon-templates/{templateId}/status", { params: { path: { templateId: template.templateId } }, body: { status }, ...withIdempotencyKey(key) })),
    onSuccess: refresh,
  });
  return (
    <Card size="small" style={{ marginBottom: 16 }}>
      <ApiErrorAlert error={change.error} />
      <Space wrap>
        {nextStatuses(template.status).map((status) => (
          <Popconfirm
            key={status}
            title={t(`coupons.confirm.${status}`, { name: template.name })}
            okText={t("common.confirm")}
            cancelText={t("common.cancel")}
            onConfirm={() => change.mutate(status)}
          >
            <Button danger={status === "ended"} type={status === "active" ? "primary" : "default"} loading={change.isPending && change.variables === status} data-testid={`coupon-${status}`}>
              {t(`coupons.to.${status}`)}
            </Button>
          </Popconfirm>
        ))}
      </Space>
    </Card>
  );
}

function AddStock({ template }: { template: CouponTemplateWithStock }) {
  const { t } = useTranslation();
  const api = useApi();
  const refresh = useRefresh(template.templateId);
  const [add, setAdd] = useState<number | null>(100);
  const save = useSave<number, unknown>({
    save: (amount, key) => ok(api.POST("/v1/admin/coupon-templates/{templateId}/stock", { params: { path: { templateId: template.templateId } }, body: { add: amount }, ...withIdempotencyKey(key) })),
    onSuccess: refresh,
  });
  return (
    <Card title={<SectionHeading>{t("coupons.addStock")}</SectionHeading>} style={{ marginBottom: 16 }}>
      <ApiErrorAlert error={save.error} />
      <Space>
        <label htmlFor="add-stock">{t("coupons.addHowMany")}</label>
        <InputNumber id="add-stock" min={1} max={100_000_000} value={add} onChange={setAdd} />
        <Popconfirm title={t("coupons.confirmAdd", { n: add ?? 0 })} okText={t("common.confirm")} cancelText={t("common.cancel")} onConfirm={() => add && save.mutate(add)}>
          <Button type="primary" disabled={!add} loading={save.isPending}>
            {t("coupons.addStock")}
          </Button>
        </Popconfirm>
      </Space>
    </Card>
  );
}

const BATCH = 1000;

/** Voucher codes from a CSV file, sent 1,000 a call with one key per batch (a retried batch is never added twice). */
function UploadCodes({ template }: { template: CouponTemplateWithStock }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const api = useApi();
  const refresh = useRefresh(template.templateId);
  const [progress, setProgress] = useState<{ done: number; total: number; added: number } | null>(null);
  const [summary, setSummary] = useState<{ codes: number; duplicates: number; tooLong: number } | null>(null);
  const [failure, setFailure] = useState<unknown>(null);

  const upload = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    event.target.value = "";
    if (!file) return;
    const parsed = parseCodes(await file.text());
    setSummary({ codes: parsed.codes.length, duplicates: parsed.duplicates, tooLong: parsed.tooLong.length });
    setFailure(null);
    const parts = batches(parsed.codes, BATCH);
    const run = newIdempotencyKey();
    setProgress({ done: 0, total: parts.length, added: 0 });
    let added = 0;
    try {
      for (const [index, codes] of parts.entries()) {
        const result = await retrying((key) => ok(api.POST("/v1/admin/coupon-templates/{templateId}/codes", { params: { path: { templateId: template.templateId } }, body: { codes }, ...withIdempotencyKey(key) })), {
          key: `${run}:${index}`,
        });
        added += result.added;
        setProgress({ done: index + 1, total: parts.length, added });
      }
      message.success(t("coupons.uploaded", { n: added }));
    } catch (error) {
      setFailure(error);
    } finally {
      refresh();
    }
  };

  return (
    <Card title={<SectionHeading>{t("coupons.uploadCodes")}</SectionHeading>} style={{ marginBottom: 16 }}>
      <Typography.Paragraph type="secondary">{t("coupons.uploadHint")}</Typography.Paragraph>
      <ApiErrorAlert error={failure} />
      <label className="ant-btn ant-btn-default" htmlFor="codes-file" style={{ display: "inline-flex", alignItems: "center", gap: 8, padding: "4px 15px", border: "1px solid #d9d9d9", borderRadius: 4, cursor: "pointer" }}>
        <UploadOutlined /> {t("coupons.chooseFile")}
      </label>
      <input id="codes-file" type="file" accept=".csv,.txt,text/csv,text/plain" onChange={(e) => void upload(e)} style={{ position: "absolute", left: -9999 }} data-testid="codes-file" />
      {summary && (
        <Alert
          style={{ marginTop: 12 }}
          type={summary.tooLong ? "warning" : "info"}
          title={t("coupons.parsed", { codes: summary.codes, duplicates: summary.duplicates, tooLong: summary.tooLong })}
        />
      )}
      {progress && (
        <div aria-live="polite" style={{ marginTop: 12 }} data-testid="upload-progress">
          <Progress percent={progress.total ? Math.round((progress.done / progress.total) * 100) : 100} aria-label={t("coupons.uploadProgress")} />
          <span>{t("coupons.batches", { done: progress.done, total: progress.total, added: progress.added })}</span>
        </div>
      )}
    </Card>
  );
}
