/** The approval inbox (approvers): campaigns waiting for a second person, with what changed. */
import { CheckOutlined, CloseOutlined } from "@ant-design/icons";
import { Card, Collapse, Empty, Space, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { useAuth } from "../../auth/AuthContext";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { PageTitle } from "../../components/PageTitle";
import { formatInstant } from "../../lib/format";
import { useCampaigns } from "../../lib/queries";
import { approvalBlock } from "./approval";
import { DiffView } from "./DiffView";
import { TransitionButton } from "./TransitionButton";

export default function ApprovalsPage() {
  const { t, i18n } = useTranslation();
  const { session } = useAuth();
  const pending = useCampaigns("pending_approval");
  const items = pending.data?.items ?? [];
  return (
    <>
      <PageTitle title={t("approvals.title")}>{t("approvals.title")}</PageTitle>
      <ApiErrorAlert error={pending.error} />
      {!pending.isLoading && items.length === 0 && <Empty description={t("approvals.empty")} />}
      <Space orientation="vertical" style={{ width: "100%" }}>
        {items.map((campaign) => {
          const block = approvalBlock(campaign, session);
          return (
            <Card
              key={campaign.campaignId}
              data-testid={`inbox-${campaign.campaignId}`}
              title={<Link to={`/campaigns/${campaign.campaignId}`}>{campaign.name}</Link>}
              extra={
                <Space wrap>
                  <TransitionButton campaign={campaign} action="approve" icon={<CheckOutlined />} primary disabledReason={block ? t(block) : null} />
                  <TransitionButton campaign={campaign} action="reject" icon={<CloseOutlined />} danger noteRequired disabledReason={block ? t(block) : null} />
                </Space>
              }
            >
              <Typography.Paragraph>
                {t("approvals.submittedBy", { who: campaign.author, when: formatInstant(campaign.updatedAt, i18n.language), version: campaign.version })}
              </Typography.Paragraph>
              <Collapse items={[{ key: "diff", label: t("diff.title"), children: <DiffView campaign={campaign} /> }]} />
            </Card>
          );
        })}
      </Space>
    </>
  );
}
