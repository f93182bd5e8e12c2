/** A lifecycle action behind a confirmation that says what it does, with an optional (or required) note. */
import { Button, Input, Modal, Tooltip, Typography } from "antd";
import { useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";

import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import type { Campaign } from "../../lib/types";
import { useCampaignAction, type Transition } from "./useCampaignAction";

interface Props {
  campaign: Campaign;
  action: Transition;
  icon?: ReactNode;
  danger?: boolean;
  primary?: boolean;
  /** Why the action is not open to this person (shown, and the button disabled). */
  disabledReason?: string | null;
  noteRequired?: boolean;
}

export function TransitionButton({ campaign, action, icon, danger, primary, disabledReason, noteRequired }: Props) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const [note, setNote] = useState("");
  const run = useCampaignAction(campaign.campaignId, () => {
    setOpen(false);
    setNote("");
  });
  const button = (
    <Button
      icon={icon}
      danger={danger}
      type={primary ? "primary" : "default"}
      disabled={!!disabledReason}
      onClick={() => {
        run.reset();
        setOpen(true);
      }}
      data-testid={`action-${action}`}
      aria-describedby={disabledReason ? `reason-${action}-${campaign.campaignId}` : undefined}
    >
      {t(`transitions.${action}.button`)}
    </Button>
  );
  return (
    <>
      {disabledReason ? (
        <Tooltip title={disabledReason}>
          <span>{button}</span>
        </Tooltip>
      ) : (
        button
      )}
      {disabledReason && (
        <Typography.Text type="secondary" id={`reason-${action}-${campaign.campaignId}`} data-testid={`reason-${action}`} style={{ fontSize: 12 }}>
          {disabledReason}
        </Typography.Text>
      )}
      <Modal
        open={open}
        title={t(`transitions.${action}.title`, { name: campaign.name })}
        okText={t(`transitions.${action}.confirm`)}
        okButtonProps={{ danger, disabled: noteRequired && !note.trim(), "data-testid": `confirm-${action}` }}
        cancelText={t("common.cancel")}
        confirmLoading={run.isPending}
        onOk={() => run.mutate({ action, note })}
        onCancel={() => setOpen(false)}
        destroyOnHidden
      >
        <Typography.Paragraph>{t(`transitions.${action}.explain`)}</Typography.Paragraph>
        <ApiErrorAlert error={run.error} />
        <label htmlFor={`note-${action}`}>{t(noteRequired ? "transitions.noteRequired" : "transitions.note")}</label>
        <Input.TextArea id={`note-${action}`} rows={3} maxLength={2000} value={note} onChange={(e) => setNote(e.target.value)} />
      </Modal>
    </>
  );
}
