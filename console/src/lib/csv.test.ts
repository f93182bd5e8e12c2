import { describe, expect, it } from "vitest";

import { reportRows } from "../features/campaigns/report/reportCsv";
import type { CampaignReport } from "./types";
import { batches, csvCell, parseCodes, toCsv } from "./csv";

describe("CSV export", () => {
  it("quotes what needs quoting and keeps numbers as they are", () => {
    expect(csvCell('say "hi", then go')).toBe('"say ""hi"", then go"');
    expect(csvCell("two\nlines")).toBe('"two\nlines"');
    expect(csvCell(-12.5)).toBe("-12.5");
    expect(csvCell(null)).toBe("");
  });

  it("never writes a formula a spreadsheet would run", () => {
    expect(csvCell("=HYPERLINK(\"http://x\")")).toBe("\"'=HYPERLINK(\"\"http://x\"\")\"");
    expect(csvCell("+1")).toBe("'+1");
    expect(csvCell("@SUM(A1)")).toBe("'@SUM(A1)");
  });

  it("starts with a byte-order mark and ends lines with CRLF, so Excel reads Chinese", () => {
    expect(toCsv([["活动", 1], ["b", 2]])).toBe("\uFEFF活动,1\r\nb,2\r\n");
  });

  it("writes a report's arms, periods, attributes and forecast", () => {
    const report: CampaignReport = {
      campaignId: "camp-1",
      status: "active",
      metric: "card_spend",
      budgetUnit: "minor",
      currency: "CNY",
      spendCurrency: "CNY",
      arms: [{ arm: "main", targeted: 3, granted: 2, notified: 1, notificationsDelivered: 1, notificationsFailed: 0, redeemed: 1, cancelled: 0, compensating: 0, compensated: 0, partlyDelivered: 0, cost: 2000, spendPerTargetedMinor: null, upliftVsControl: null }],
      budget: { total: { limit: 10000, spent: 2000, left: 8000 }, byAttribute: [{ attribute: "branchId", value: "sh-pudong", limit: 5000, spent: 2000, left: 3000 }] },
      forecast: { burnPerDay: 1000, exhaustsAt: null, lastsTheWindow: true },
    };
    const rows = reportRows(report, (key) => key.split(".").at(-1) ?? key);
    expect(rows).toContainEqual(["main", 3, 2, 1, 1, 0, 1, 0, 0, 0, 2000, null, null]);
    expect(rows).toContainEqual(["total", 10000, 2000, 8000]);
    expect(rows).toContainEqual(["branchId", "sh-pudong", 5000, 2000, 3000]);
    expect(rows.at(-1)).toEqual(["burnPerDay", 1000, "exhaustsAt", "", "lastsTheWindow", true]);
  });
});

describe("voucher codes from a file", () => {
  it("takes the first column, skips a header and blank lines, and counts repeats", () => {
    const parsed = parseCodes('\uFEFFcode,batch\r\nAAA-1,b1\r\n"BBB-2",b1\r\n\r\nAAA-1,b2\n' + "X".repeat(129));
    expect(parsed.codes).toEqual(["AAA-1", "BBB-2"]);
    expect(parsed.duplicates).toBe(1);
    expect(parsed.tooLong).toHaveLength(1);
  });

  it("sends them 1,000 at a time", () => {
    const sizes = batches(Array.from({ length: 2500 }, (_, i) => i), 1000).map((b) => b.length);
    expect(sizes).toEqual([1000, 1000, 500]);
  });
});
