/** ECharts, loaded only when a screen draws a chart (its own chunk, never in the initial bundle). */
import { Skeleton } from "antd";
import { lazy, Suspense } from "react";

import type { EChartProps } from "./EChart";

const EChart = lazy(() => import("./EChart"));

export function Chart(props: EChartProps) {
  return (
    <Suspense fallback={<Skeleton.Node active style={{ width: "100%", height: props.height ?? 320 }} />}>
      <EChart {...props} />
    </Suspense>
  );
}
