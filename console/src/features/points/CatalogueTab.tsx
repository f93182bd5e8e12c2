/** The points mall (积分商城): items for points, or points plus cash; one form adds or changes an item. */
import { PlusOutlined } from "@ant-design/icons";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { App, Button, Card, Form, Input, InputNumber, Modal, Radio, Space, Table, Tag } from "antd";
import { useCallback, useState } from "react";
import { useTranslation } from "react-i18next";

import { ok, withIdempotencyKey } from "../../api/client";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { YesNo } from "../../components/YesNo";
import { MoneyInput } from "../../forms/fields";
import { useValidatedForm } from "../../forms/useValidatedForm";
import { validator } from "../../forms/validator";
import { compact } from "../campaigns/builder/builderModel";
import { useApi } from "../../lib/api";
import { formatMinor } from "../../lib/format";
import type { CatalogueItem } from "../../lib/types";
import { useSave } from "../../lib/useSave";
import { CouponTemplateSelect } from "../campaigns/builder/ActionFields";
import { SectionHeading } from "../../components/SectionHeading";

export function CatalogueTab() {
  const { t, i18n } = useTranslation();
  const api = useApi();
  const [editing, setEditing] = useState<CatalogueItem | null>(null);
  const items = useQuery({ queryKey: ["points-catalogue"], queryFn: () => ok(api.GET("/v1/admin/points/catalogue")) });
  return (
    <Card
      title={<SectionHeading>{t("points.catalogue")}</SectionHeading>}
      extra={
        <Button icon={<PlusOutlined />} onClick={() => setEditing({ itemId: "", name: "", kind: "mall_item", points: 100, currency: "CNY" })}>
          {t("points.newItem")}
        </Button>
      }
    >
      <ApiErrorAlert error={items.error} />
      <Table<CatalogueItem>
        aria-label={t("points.catalogue")}
        size="small"
        rowKey="itemId"
        loading={items.isLoading}
        dataSource={items.data?.items ?? []}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        columns={[
          { title: t("points.itemName"), dataIndex: "name" },
          { title: t("points.itemId"), dataIndex: "itemId" },
          { title: t("points.itemKind"), dataIndex: "kind", render: (k: string) => t(`points.itemKinds.${k}`) },
          { title: t("builder.points"), dataIndex: "points" },
          { title: t("points.cash"), key: "cash", render: (_, item) => (item.cashMinor ? formatMinor(item.cashMinor, item.currency, i18n.language) : "—") },
          { title: t("points.active"), dataIndex: "active", render: (a: boolean | undefined) => <YesNo value={a} /> },
          {
            title: t("common.actions"),
            key: "edit",
            render: (_, item) => (
              <Button size="small" onClick={() => setEditing(item)} aria-label={`${t("common.edit")} ${item.name}`}>
                {t("common.edit")}
              </Button>
            ),
          },
        ]}
      />
      {editing && <ItemModal item={editing} onClose={() => setEditing(null)} />}
    </Card>
  );
}

function ItemModal({ item, onClose }: { item: CatalogueItem; onClose: () => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const api = useApi();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<CatalogueItem>();
  const problemsOf = useCallback((values: CatalogueItem) => validator.validate("CatalogueItem", compact(values)), []);
  const validated = useValidatedForm(form, item, problemsOf);
  const save = useSave<CatalogueItem, unknown>({
    save: (body, key) => ok(api.PUT("/v1/admin/points/catalogue/{itemId}", { params: { path: { itemId: body.itemId } }, body, ...withIdempotencyKey(key) })),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["points-catalogue"] });
      message.success(t("points.itemSaved"));
      onClose();
    },
  });
  const kind = validated.values.kind;
  return (
    <Modal
      open
      title={item.itemId ? t("points.editItem", { name: item.name }) : t("points.newItem")}
      okText={t("common.save")}
      cancelText={t("common.cancel")}
      confirmLoading={save.isPending}
      okButtonProps={{ disabled: validated.blocked }}
      onCancel={onClose}
      onOk={() => {
        if (validated.revealAll()) return;
        const body = compact(form.getFieldsValue(true) as CatalogueItem);
        save.mutate(body, { onError: (error) => validated.takeApiError(error, body) });
      }}
    >
      <ApiErrorAlert error={save.error} extra={validated.general} />
      <Form<CatalogueItem> form={form} layout="vertical" initialValues={item} onValuesChange={validated.onValuesChange} aria-label={t("points.catalogue")}>
        <Form.Item name="itemId" label={t("points.itemId")}>
          <Input disabled={!!item.itemId} />
        </Form.Item>
        <Form.Item name="name" label={t("points.itemName")}>
          <Input />
        </Form.Item>
        <Form.Item name="kind" label={t("points.itemKind")}>
          <Radio.Group optionType="button" options={["mall_item", "coupon"].map((k) => ({ value: k, label: t(`points.itemKinds.${k}`) }))} />
        </Form.Item>
        {kind === "coupon" && (
          <Form.Item name="templateId" label={t("builder.couponTemplate")}>
            <CouponTemplateSelect />
          </Form.Item>
        )}
        <Space wrap>
          <Form.Item name="points" label={t("builder.points")}>
            <InputNumber min={1} />
          </Form.Item>
          <Form.Item name="cashMinor" label={t("points.cash")}>
            <MoneyInput />
          </Form.Item>
          <Form.Item name="holdMinutes" label={t("points.holdMinutes")}>
            <InputNumber min={1} max={1440} />
          </Form.Item>
        </Space>
      </Form>
    </Modal>
  );
}
