/**
 * Every screen but home is its own chunk (React.lazy): the first load carries the shell and the
 * home screen, the screen nearly every visit starts on (a lazy home cost a second round trip before
 * its data could be asked for: `make bench`'s console section); charts (ECharts) load with the
 * screens that draw them.
 */
import { Result, Spin } from "antd";
import { lazy, Suspense, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Navigate, Outlet, Route, Routes, useLocation } from "react-router";

import { useAuth } from "./auth/AuthContext";
import HomePage from "./features/home/HomePage";
import { APPROVERS, OPERATORS, RELATIONSHIP_MANAGERS } from "./auth/session";
import { Shell } from "./layout/Shell";

const SignInPage = lazy(() => import("./auth/SignInPage"));
const CallbackPage = lazy(() => import("./auth/CallbackPage"));
const CampaignsPage = lazy(() => import("./features/campaigns/CampaignsPage"));
const CampaignDetailPage = lazy(() => import("./features/campaigns/CampaignDetailPage"));
const BuilderPage = lazy(() => import("./features/campaigns/builder/BuilderPage"));
const ApprovalsPage = lazy(() => import("./features/campaigns/ApprovalsPage"));
const ReportPage = lazy(() => import("./features/campaigns/report/ReportPage"));
const CouponsPage = lazy(() => import("./features/coupons/CouponsPage"));
const CouponTemplatePage = lazy(() => import("./features/coupons/CouponTemplatePage"));
const CouponFormPage = lazy(() => import("./features/coupons/CouponFormPage"));
const PointsPage = lazy(() => import("./features/points/PointsPage"));
const SegmentsPage = lazy(() => import("./features/segments/SegmentsPage"));
const SegmentPage = lazy(() => import("./features/segments/SegmentPage"));
const CustomerSearchPage = lazy(() => import("./features/customers/CustomerSearchPage"));
const CustomerPage = lazy(() => import("./features/customers/CustomerPage"));
const AuditPage = lazy(() => import("./features/audit/AuditPage"));
const ReconciliationPage = lazy(() => import("./features/reconciliation/ReconciliationPage"));
const OrgUnitsPage = lazy(() => import("./features/org/OrgUnitsPage"));
const StackingPolicyPage = lazy(() => import("./features/checkout/StackingPolicyPage"));
const CheckoutInspectorPage = lazy(() => import("./features/checkout/CheckoutInspectorPage"));
const MotRulesPage = lazy(() => import("./features/mot/MotRulesPage"));
const MotRuleReportPage = lazy(() => import("./features/mot/MotRuleReportPage"));
const RmWorkbenchPage = lazy(() => import("./features/mot/RmWorkbenchPage"));

function Loading() {
  const { t } = useTranslation();
  return (
    <div style={{ padding: 48, textAlign: "center" }}>
      <Spin description={t("common.loading")} />
    </div>
  );
}

function RequireSignIn({ children }: { children: ReactNode }) {
  const { session } = useAuth();
  const location = useLocation();
  if (!session) return <Navigate to="/signin" replace state={{ from: location.pathname + location.search }} />;
  return <>{children}</>;
}

/** The screen for members of `group` (of any of them, when several are named). */
function RequireGroup({ group, children }: { group: string | readonly string[]; children: ReactNode }) {
  const { can } = useAuth();
  const { t } = useTranslation();
  const groups = typeof group === "string" ? [group] : group;
  if (!groups.some((g) => can(g))) return <Result status="403" title={t("common.forbiddenTitle")} subTitle={t("common.forbidden", { group: groups.join(" / ") })} />;
  return <>{children}</>;
}

/** The first screen: the home screen for operators; a relationship manager's own workbench for them. */
function Home() {
  const { can } = useAuth();
  if (!can(OPERATORS) && can(RELATIONSHIP_MANAGERS)) return <Navigate to="/rm" replace />;
  return <HomePage />;
}

// Who signs in to the console: operators (every screen but the workbench) and relationship managers
// (their workbench only: the API refuses them the operators' routes anyway).
const STAFF = [OPERATORS, RELATIONSHIP_MANAGERS] as const;

function NotFound() {
  const { t } = useTranslation();
  return <Result status="404" title={t("common.notFoundTitle")} subTitle={t("common.notFound")} />;
}

export function AppRoutes() {
  return (
    <Suspense fallback={<Loading />}>
      <Routes>
        <Route path="/signin" element={<SignInPage />} />
        <Route path="/auth/callback" element={<CallbackPage />} />
        <Route
          element={
            <RequireSignIn>
              <RequireGroup group={STAFF}>
                <Shell />
              </RequireGroup>
            </RequireSignIn>
          }
        >
          <Route index element={<Home />} />
          <Route
            path="rm"
            element={
              <RequireGroup group={RELATIONSHIP_MANAGERS}>
                <RmWorkbenchPage />
              </RequireGroup>
            }
          />
          <Route
            element={
              <RequireGroup group={OPERATORS}>
                <Outlet />
              </RequireGroup>
            }
          >
            <Route path="campaigns" element={<CampaignsPage />} />
            <Route path="campaigns/new" element={<BuilderPage />} />
            <Route path="campaigns/:campaignId" element={<CampaignDetailPage />} />
            <Route path="campaigns/:campaignId/edit" element={<BuilderPage />} />
            <Route path="campaigns/:campaignId/report" element={<ReportPage />} />
            <Route
              path="approvals"
              element={
                <RequireGroup group={APPROVERS}>
                  <ApprovalsPage />
                </RequireGroup>
              }
            />
            <Route path="coupons" element={<CouponsPage />} />
            <Route path="coupons/new" element={<CouponFormPage />} />
            <Route path="coupons/:templateId" element={<CouponTemplatePage />} />
            <Route path="points" element={<Navigate to="/points/rules" replace />} />
            <Route path="points/:tab" element={<PointsPage />} />
            <Route path="segments" element={<SegmentsPage />} />
            <Route path="segments/new" element={<SegmentPage />} />
            <Route path="segments/:segmentId" element={<SegmentPage />} />
            <Route path="customers" element={<CustomerSearchPage />} />
            <Route path="customers/:customerId" element={<CustomerPage />} />
            <Route path="audit" element={<AuditPage />} />
            <Route path="reconciliation" element={<ReconciliationPage />} />
            <Route path="stacking-policy" element={<StackingPolicyPage />} />
            <Route path="checkout-sessions" element={<CheckoutInspectorPage />} />
            <Route path="org-units" element={<OrgUnitsPage />} />
            <Route path="mot-rules" element={<MotRulesPage />} />
            <Route path="mot-rules/:ruleId" element={<MotRuleReportPage />} />
          </Route>
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
    </Suspense>
  );
}
