import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

import { openapiSchemas } from "./build-tools/openapi-schemas.ts";

// The API a `npm run dev` console talks to: a running `make run` (same origin once built and served).
const api = `http://127.0.0.1:${process.env.LOCAL_API_PORT ?? "3000"}`;

export default defineConfig({
  // Served by the local cloud (and CloudFront) under /console/, beside the API on the same origin.
  base: "/console/",
  plugins: [react(), openapiSchemas()],
  build: {
    outDir: "dist",
    // scripts/bundle-size.mjs reads the manifest to tell the initial chunks from the lazy ones.
    manifest: true,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    port: 5173,
    proxy: { "/v1": api, "/_local": api, "/openapi.json": api },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
