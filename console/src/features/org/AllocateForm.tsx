/**
 * Allocate part of a unit's pool to a unit right under it (docs/org-units.md, "Budget pools"): the
 * API refuses more than the pool has left (422 POOL_INSUFFICIENT), shown in words; one
 * Idempotency-Key per allocation, so a retried save is made once.
 */
import { useQueryClient } from "@tanstack/react-query";
import { Button, InputNumber, Popconfirm, Select, Space } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";

import { ok, withIdempotencyKey } from "../../api/client";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { useApi } from "../../lib/api";
import type { OrgPoolRollup } from "../../lib/types";
import type { Schema } from "../../api/client";
import { useSave } from "../../lib/useSave";

type Currency = NonNullable<Schema<"AllocatePool">["currency"]>;

interface Allocation {
  childId: string;
  amount: number;
}

export function AllocateForm({ unitId, rollup }: { unitId: string; rollup: OrgPoolRollup }) {
  const { t } = useTranslation();
  const api = useApi();
  const queryClient = useQueryClient();
  const children = rollup.units.filter((node) => node.parentId === unitId);
  const [childId, setChildId] = useState<string | null>(null);
  const [amount, setAmount] = useState<number | null>(null);
  const pool = rollup.pool;
  const money = pool.measure !== "rewards";
  const save = useSave<Allocation, unknown>({
    save: (allocation, key) =>
      ok(
        api.POST("/v1/admin/org-units/{unitId}/pools/allocations", {
          params: { path: { unitId } },
          // A money pool's measure is its currency code (the API's own value, read back from it)
          body: { period: pool.period, unit: money ? "minor" : "rewards", ...(money ? { currency: pool.measure as Currency } : {}), ...allocation },
          ...withIdempotencyKey(key),
        }),
      ),
    onSuccess: () => {
      setAmount(null);
      void queryClient.invalidateQueries({ queryKey: ["org-unit"] });
    },
  });
  if (children.length === 0) return null;
  return (
    <div style={{ marginBottom: 16 }} data-testid="org-pool-allocate">
      <ApiErrorAlert error={save.error} />
      <Space wrap>
        <Select
          aria-label={t("orgPools.allocateTo")}
          placeholder={t("orgPools.allocateTo")}
          style={{ minWidth: 200 }}
          value={childId}
          onChange={setChildId}
          options={children.map((c) => ({ value: c.unitId, label: `${c.name} (${c.unitId})` }))}
        />
        <label htmlFor="pool-allocate-amount">{money ? t("orgPools.amountMinor", { currency: pool.measure }) : t("orgPools.amountRewards")}</label>
        <InputNumber id="pool-allocate-amount" min={1} max={1_000_000_000_000} precision={0} value={amount} onChange={setAmount} />
        <Popconfirm
          title={t("orgPools.confirmAllocate", { amount: amount ?? 0, unit: childId ?? "" })}
          okText={t("common.confirm")}
          cancelText={t("common.cancel")}
          onConfirm={() => childId && amount && save.mutate({ childId, amount })}
        >
          <Button type="primary" disabled={!childId || !amount} loading={save.isPending}>
            {t("orgPools.allocate")}
          </Button>
        </Popconfirm>
      </Space>
    </div>
  );
}
