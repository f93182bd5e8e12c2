import { Tag } from "antd";
import { useTranslation } from "react-i18next";

/** Dark shades with white text: antd's light preset tags fall short of AA contrast. */
export const TAG_COLOURS = {
  grey: "#595959",
  orange: "#ad4e00",
  cyan: "#006d75",
  green: "#237804",
  gold: "#7c5e00",
  red: "#a8071a",
  blue: "#003eb3",
} as const;

const COLOURS: Record<string, string> = {
  draft: TAG_COLOURS.grey,
  pending_approval: TAG_COLOURS.orange,
  scheduled: TAG_COLOURS.cyan,
  approved: TAG_COLOURS.cyan,
  active: TAG_COLOURS.green,
  paused: TAG_COLOURS.gold,
  ended: TAG_COLOURS.grey,
  released: TAG_COLOURS.green,
  rejected: TAG_COLOURS.red,
  pending: TAG_COLOURS.orange,
  available: TAG_COLOURS.green,
  redeemed: TAG_COLOURS.blue,
  expired: TAG_COLOURS.grey,
  locked: TAG_COLOURS.gold,
  running: TAG_COLOURS.blue,
  done: TAG_COLOURS.green,
  paged: TAG_COLOURS.blue,
  completed: TAG_COLOURS.green,
  cancelled_not_active: TAG_COLOURS.grey,
};

/** A status in words, in a colour that tells its kind (the word is what counts, for colour-blind readers). */
export function StatusTag({ status }: { status: string }) {
  const { t } = useTranslation();
  return (
    <Tag color={COLOURS[status] ?? TAG_COLOURS.grey} data-status={status}>
      {t(`status.${status}`, { defaultValue: status })}
    </Tag>
  );
}
