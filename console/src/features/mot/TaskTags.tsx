/** A MOT task's state (and overdue) as tags, and why it is where it is: shared by the workbench and the branch queue. */
import { Space, Tag } from "antd";
import { useTranslation } from "react-i18next";

import { TAG_COLOURS } from "../../components/StatusTag";
import { isOverdue, whyKey, type Task, type TaskState } from "./mot";

const STATE_COLOURS: Record<TaskState, string> = {
  open: TAG_COLOURS.orange,
  in_progress: TAG_COLOURS.blue,
  done: TAG_COLOURS.green,
  expired: TAG_COLOURS.grey,
  reassigned: TAG_COLOURS.gold,
};

export function TaskStateTags({ task, now = new Date() }: { task: Pick<Task, "state" | "dueAt">; now?: Date }) {
  const { t } = useTranslation();
  return (
    <Space size={4} wrap>
      <Tag color={STATE_COLOURS[task.state] ?? TAG_COLOURS.grey} data-status={task.state} data-testid="task-state">
        {t(`mot.taskState.${task.state}`, { defaultValue: task.state })}
      </Tag>
      {isOverdue(task, now) && (
        <Tag color={TAG_COLOURS.red} data-testid="task-overdue">
          {t("mot.overdue")}
        </Tag>
      )}
    </Space>
  );
}

/** Why a task is where it is, in words when the reason is known, else its code as the API gave it. */
export function WhyText({ why }: { why?: string | null }) {
  const { t } = useTranslation();
  if (!why) return <>—</>;
  const key = whyKey(why);
  return key ? <>{t(key)}</> : <Tag>{why}</Tag>;
}
