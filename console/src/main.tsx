import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import "./index.css";

import { App } from "./App";
import { loadConfig } from "./config";
import { setupI18n } from "./i18n";

const root = createRoot(document.getElementById("root") as HTMLElement);

async function start(): Promise<void> {
  const [config] = await Promise.all([loadConfig(), setupI18n()]);
  root.render(
    <StrictMode>
      <App config={config} />
    </StrictMode>,
  );
}

start().catch((error: unknown) => {
  // Before React and i18n: plain text, in both languages, and what is wrong.
  const message = error instanceof Error ? error.message : String(error);
  root.render(
    <main style={{ padding: 32, fontFamily: "sans-serif" }}>
      <h1>运营台无法启动 / The console could not start</h1>
      <p>{message}</p>
    </main>,
  );
});
