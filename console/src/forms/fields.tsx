/** Inputs whose value is what the API takes (minor units, ISO instants) while the operator sees yuan and dates. */
import { DatePicker, InputNumber, Select } from "antd";
import dayjs from "dayjs";
import { useTranslation } from "react-i18next";

interface ValueProps<T> {
  value?: T;
  onChange?: (value: T | undefined) => void;
  id?: string;
  "aria-label"?: string;
  disabled?: boolean;
}

/** Minor units (分) in the value; major units (元) on screen, two decimals. */
export function MoneyInput({ value, onChange, id, disabled, currency = "CNY", ...rest }: ValueProps<number> & { currency?: string }) {
  return (
    <InputNumber<number>
      id={id}
      aria-label={rest["aria-label"]}
      disabled={disabled}
      style={{ width: 220 }}
      min={0}
      precision={2}
      step={1}
      suffix={currency}
      value={value === undefined || value === null ? null : value / 100}
      onChange={(major) => onChange?.(major === null ? undefined : Math.round(major * 100))}
    />
  );
}

/** An instant as the API writes it (UTC, seconds: 2027-01-01T00:00:00Z), picked in local time. */
export function InstantInput({ value, onChange, id, disabled, ...rest }: ValueProps<string>) {
  const parsed = value ? dayjs(value) : null;
  return (
    <DatePicker
      id={id}
      aria-label={rest["aria-label"]}
      disabled={disabled}
      showTime={{ format: "HH:mm" }}
      format="YYYY-MM-DD HH:mm"
      value={parsed && parsed.isValid() ? parsed : null}
      onChange={(picked) => onChange?.(picked ? picked.second(0).millisecond(0).toISOString().replace(/\.\d{3}Z$/, "Z") : undefined)}
    />
  );
}

/** Free values (tags, MCCs, ids): typed and entered one by one. */
export function ListInput({ value, onChange, id, placeholder, ...rest }: ValueProps<string[]> & { placeholder?: string; options?: string[] }) {
  const { t } = useTranslation();
  return (
    <Select
      id={id}
      aria-label={rest["aria-label"]}
      mode="tags"
      style={{ minWidth: 280 }}
      placeholder={placeholder ?? t("common.typeAndEnter")}
      value={value ?? []}
      onChange={(next: string[]) => onChange?.(next)}
      options={(rest.options ?? []).map((o) => ({ value: o, label: o }))}
      tokenSeparators={[",", " "]}
    />
  );
}
