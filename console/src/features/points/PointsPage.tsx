import { Tabs } from "antd";
import { useTranslation } from "react-i18next";
import { useNavigate, useParams } from "react-router";

import { PageTitle } from "../../components/PageTitle";
import { CatalogueTab } from "./CatalogueTab";
import { HoldsTab } from "./HoldsTab";
import { LadderTab } from "./LadderTab";
import { LiabilityTab } from "./LiabilityTab";
import { RulesTab } from "./RulesTab";

const TABS = ["rules", "ladder", "catalogue", "holds", "liability"] as const;

export default function PointsPage() {
  const { tab = "rules" } = useParams();
  const { t } = useTranslation();
  const navigate = useNavigate();
  const active = (TABS as readonly string[]).includes(tab) ? tab : "rules";
  const content = { rules: <RulesTab />, ladder: <LadderTab />, catalogue: <CatalogueTab />, holds: <HoldsTab />, liability: <LiabilityTab /> };
  return (
    <>
      <PageTitle title={`${t("points.title")} · ${t(`points.tabs.${active}`)}`}>{t("points.title")}</PageTitle>
      <Tabs
        activeKey={active}
        onChange={(key) => navigate(`/points/${key}`)}
        destroyOnHidden
        items={TABS.map((key) => ({ key, label: t(`points.tabs.${key}`), children: content[key] }))}
      />
    </>
  );
}
