/**
 * Simplified Chinese by default, English on request (the switch in the header), remembered in
 * localStorage. Both dictionaries are small and load with the shell; en.ts is typed from zh-CN.ts,
 * so a key missing in English fails the type check.
 */
import dayjs from "dayjs";
import "dayjs/locale/zh-cn";
import i18n from "i18next";
import { initReactI18next } from "react-i18next";

import { en } from "./en";
import { zhCN } from "./zh-CN";

export const LANGUAGES = ["zh-CN", "en"] as const;
export type Language = (typeof LANGUAGES)[number];

const STORAGE_KEY = "console.language";

function stored(): Language {
  const value = localStorage.getItem(STORAGE_KEY);
  return value === "en" ? "en" : "zh-CN";
}

function apply(language: Language): void {
  document.documentElement.lang = language;
  dayjs.locale(language === "en" ? "en" : "zh-cn");
}

export async function setupI18n(): Promise<void> {
  const language = stored();
  await i18n.use(initReactI18next).init({
    resources: { "zh-CN": { translation: zhCN }, en: { translation: en } },
    lng: language,
    fallbackLng: "zh-CN",
    interpolation: { escapeValue: false }, // React escapes
    returnNull: false,
  });
  apply(language);
}

export async function chooseLanguage(language: Language): Promise<void> {
  localStorage.setItem(STORAGE_KEY, language);
  await i18n.changeLanguage(language);
  apply(language);
}
