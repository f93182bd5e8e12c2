import { Segmented } from "antd";
import { useTranslation } from "react-i18next";

import { LANGUAGES, type Language, chooseLanguage } from "../i18n";

export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  return (
    <Segmented<Language>
      aria-label={t("nav.language")}
      size="small"
      value={(LANGUAGES.find((l) => i18n.language === l) ?? "zh-CN") as Language}
      options={[
        { label: "中文", value: "zh-CN" },
        { label: "English", value: "en" },
      ]}
      onChange={(value) => void chooseLanguage(value)}
    />
  );
}
