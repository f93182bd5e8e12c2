import { Empty, Typography } from "antd";
import { useTranslation } from "react-i18next";

/** Where the API does not expose the data yet: said plainly, with the endpoint that would. */
export function NotAvailable({ what, route }: { what: string; route?: string }) {
  const { t } = useTranslation();
  return (
    <Empty
      data-testid="not-available"
      image={Empty.PRESENTED_IMAGE_SIMPLE}
      description={
        <>
          <div>{t("common.notAvailable", { what })}</div>
          {route && <Typography.Text code>{route}</Typography.Text>}
        </>
      }
    />
  );
}
