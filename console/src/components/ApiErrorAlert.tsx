import { Alert, Tag, Typography } from "antd";
import { useTranslation } from "react-i18next";

import { describeError } from "../lib/errors";
import { TAG_COLOURS } from "./StatusTag";

/** A failed call in words an operator understands, with the code (and correlation id) for support. */
export function ApiErrorAlert({ error, extra }: { error: unknown; extra?: string[] }) {
  const { t } = useTranslation();
  if (!error) return null;
  const described = describeError(error);
  const sentence = t(described.key, { defaultValue: t(described.fallbackKey) });
  return (
    <Alert
      type="error"
      showIcon
      role="alert"
      data-testid="api-error"
      title={
        <span>
          {sentence} <Tag color={TAG_COLOURS.red}>{described.code}</Tag>
          {described.status !== null && <Typography.Text type="secondary">HTTP {described.status}</Typography.Text>}
        </span>
      }
      description={
        (described.apiMessage || extra?.length || described.correlationId) && (
          <>
            {described.apiMessage && <div>{t("errors.apiSaid", { message: described.apiMessage })}</div>}
            {extra?.map((line) => <div key={line}>{line}</div>)}
            {described.correlationId && (
              <Typography.Text type="secondary">{t("errors.correlation", { id: described.correlationId })}</Typography.Text>
            )}
          </>
        )
      }
      style={{ marginBottom: 16 }}
    />
  );
}
