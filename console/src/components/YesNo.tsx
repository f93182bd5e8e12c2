import { Tag } from "antd";
import { useTranslation } from "react-i18next";

import { TAG_COLOURS } from "./StatusTag";

/** An on/off flag (a rule or segment active), absent meaning on as the API's default. */
export function YesNo({ value }: { value: boolean | undefined }) {
  const { t } = useTranslation();
  return <Tag color={value === false ? TAG_COLOURS.grey : TAG_COLOURS.green}>{t(value === false ? "common.no" : "common.yes")}</Tag>;
}
