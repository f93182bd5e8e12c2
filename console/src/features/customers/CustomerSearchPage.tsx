import { Card, Input } from "antd";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";

import { NotAvailable } from "../../components/NotAvailable";
import { PageTitle } from "../../components/PageTitle";

export default function CustomerSearchPage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  return (
    <>
      <PageTitle title={t("customers.title")}>{t("customers.title")}</PageTitle>
      <Card>
        <label htmlFor="customer-id">{t("customers.byId")}</label>
        <Input.Search
          id="customer-id"
          enterButton={t("customers.open")}
          placeholder="c-001"
          style={{ maxWidth: 360, display: "block", marginTop: 8 }}
          onSearch={(value) => value.trim() && navigate(`/customers/${encodeURIComponent(value.trim())}`)}
        />
      </Card>
      <Card style={{ marginTop: 16 }}>
        <NotAvailable what={t("customers.search")} route="GET /v1/admin/customers?query=" />
      </Card>
    </>
  );
}
