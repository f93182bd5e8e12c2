import { QueryClientProvider } from "@tanstack/react-query";
import { App as AntApp, ConfigProvider } from "antd";
import enUS from "antd/locale/en_US";
import zhCN from "antd/locale/zh_CN";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { BrowserRouter } from "react-router";

import { AuthProvider } from "./auth/AuthContext";
import type { ConsoleConfig } from "./config";
import { newQueryClient } from "./lib/api";
import { ConfigContext } from "./lib/ConfigContext";
import { AppRoutes } from "./routes";

/**
 * The bank's red, and text colours dark enough for WCAG AA contrast (4.5:1) on white: antd's
 * defaults for secondary text, placeholders, links and danger are lighter than that.
 */
const THEME = {
  colorPrimary: "#b4232a",
  colorLink: "#0958d9",
  colorError: "#c41d1f",
  colorTextSecondary: "rgba(0, 0, 0, 0.68)",
  colorTextTertiary: "rgba(0, 0, 0, 0.64)",
  colorTextQuaternary: "rgba(0, 0, 0, 0.6)",
  colorTextDescription: "rgba(0, 0, 0, 0.64)",
  colorTextPlaceholder: "rgba(0, 0, 0, 0.6)",
  borderRadius: 4,
};

export function App({ config }: { config: ConsoleConfig }) {
  const { i18n } = useTranslation();
  const queryClient = useMemo(newQueryClient, []);
  const english = i18n.language.startsWith("en");
  return (
    <ConfigContext.Provider value={config}>
      <ConfigProvider
        locale={english ? enUS : zhCN}
        theme={{ token: THEME }}
        // antd spaces out two-character Chinese labels ("编 辑"), which then no longer match their
        // accessible names; the labels are written as they should read.
        button={{ autoInsertSpace: false }}
      >
        <AntApp>
          <QueryClientProvider client={queryClient}>
            {/* The console lives under /console/ beside the API (vite base). */}
            <BrowserRouter basename={import.meta.env.BASE_URL.replace(/\/$/, "")}>
              <AuthProvider>
                <AppRoutes />
              </AuthProvider>
            </BrowserRouter>
          </QueryClientProvider>
        </AntApp>
      </ConfigProvider>
    </ConfigContext.Provider>
  );
}
