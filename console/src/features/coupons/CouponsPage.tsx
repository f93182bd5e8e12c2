import { PlusOutlined } from "@ant-design/icons";
import { Button } from "antd";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { ok } from "../../api/client";
import { CursorTable } from "../../components/CursorTable";
import { PageTitle } from "../../components/PageTitle";
import { StatusTag } from "../../components/StatusTag";
import { useApi } from "../../lib/api";
import { formatInstant, formatNumber } from "../../lib/format";
import type { CouponTemplate } from "../../lib/types";

export default function CouponsPage() {
  const { t, i18n } = useTranslation();
  const api = useApi();
  return (
    <>
      <PageTitle
        title={t("coupons.title")}
        extra={
          <Link to="/coupons/new">
            <Button type="primary" icon={<PlusOutlined />}>
              {t("coupons.new")}
            </Button>
          </Link>
        }
      >
        {t("coupons.title")}
      </PageTitle>
      <CursorTable<CouponTemplate>
        label={t("coupons.title")}
        queryKey={["coupon-templates", "pages"]}
        fetchPage={(cursor) => ok(api.GET("/v1/admin/coupon-templates", { params: { query: { limit: 100, ...(cursor ? { cursor } : {}) } } }))}
        rowKey={(row) => row.templateId}
        columns={[
          { title: t("coupons.name"), key: "name", render: (_, row) => <Link to={`/coupons/${row.templateId}`}>{row.name}</Link> },
          { title: t("coupons.id"), dataIndex: "templateId" },
          { title: t("coupons.kind"), key: "kind", render: (_, row) => t(`couponKinds.${row.benefit.kind}`) },
          { title: t("coupons.status"), key: "status", render: (_, row) => <StatusTag status={row.status} /> },
          { title: t("coupons.totalStock"), key: "stock", render: (_, row) => formatNumber(row.totalStock, i18n.language) },
          { title: t("coupons.createdBy"), dataIndex: "createdBy" },
          { title: t("coupons.updated"), key: "updated", render: (_, row) => formatInstant(row.updatedAt, i18n.language) },
        ]}
      />
    </>
  );
}
