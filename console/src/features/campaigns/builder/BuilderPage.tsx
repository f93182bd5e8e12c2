/**
 * The campaign builder: step by step, from a ready-made template or blank, checked against the
 * API's schema as the operator types; the API's own refusals land on the fields they name. The
 * draft lives in sessionStorage, so an expired sign-in (or a reload) loses nothing.
 */
import { useQueryClient } from "@tanstack/react-query";
import { Alert, App, Button, Card, Descriptions, Flex, Form, Input, Skeleton, Space, Steps, Typography } from "antd";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate, useParams } from "react-router";

import { newIdempotencyKey, ok, withIdempotencyKey } from "../../../api/client";
import { ApiErrorAlert } from "../../../components/ApiErrorAlert";
import { JsonBlock } from "../../../components/JsonBlock";
import { PageTitle } from "../../../components/PageTitle";
import { problemText } from "../../../forms/messages";
import { useValidatedForm } from "../../../forms/useValidatedForm";
import { validator } from "../../../forms/validator";
import { useApi } from "../../../lib/api";
import { keys, useCampaign } from "../../../lib/queries";
import type { Campaign, CampaignRequest, FromTemplate } from "../../../lib/types";
import { useSave } from "../../../lib/useSave";
import {
  blankValues,
  builderProblems,
  clearDraft,
  loadDraft,
  saveDraft,
  stepOf,
  stepsFor,
  toBody,
  valuesFromCampaign,
  type BuilderValues,
  type Step,
} from "./builderModel";
import { AudienceStep, BasicsStep, BudgetStep, CapsStep, SourceStep, TriggerStep, VariantsStep } from "./StepFields";

export default function BuilderPage() {
  const { campaignId } = useParams();
  const editing = campaignId ?? null;
  const stored = useMemo(() => loadDraft(editing), [editing]);
  const existing = useCampaign(stored ? undefined : (campaignId ?? undefined));
  const { t } = useTranslation();

  if (editing && !stored && !existing.data) {
    return (
      <>
        <PageTitle title={t("builder.editTitle", { id: editing })}>{t("builder.editTitle", { id: editing })}</PageTitle>
        <ApiErrorAlert error={existing.error} />
        <Skeleton active />
      </>
    );
  }
  const initial = stored?.values ?? (existing.data ? valuesFromCampaign(existing.data) : blankValues());
  return <Builder initial={initial} initialStep={stored?.step ?? 0} initialKey={stored?.key ?? newIdempotencyKey()} editing={editing} restored={!!stored} />;
}

interface SaveVars {
  body: CampaignRequest | FromTemplate;
  values: BuilderValues;
  submit: boolean;
  note: string;
}

function Builder({ initial, initialStep, initialKey, editing, restored }: { initial: BuilderValues; initialStep: number; initialKey: string; editing: string | null; restored: boolean }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const api = useApi();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<BuilderValues>();
  const problemsOf = useCallback((values: BuilderValues) => builderProblems(values, validator), []);
  const validated = useValidatedForm(form, initial, problemsOf);
  const steps = stepsFor(editing ? "blank" : validated.values.source);
  const [stepIndex, setStepIndex] = useState(Math.min(initialStep, steps.length - 1));
  const step: Step = steps[Math.min(stepIndex, steps.length - 1)] ?? "source";
  const key = useRef(initialKey);
  const [note, setNote] = useState("");

  useEffect(() => {
    saveDraft({ values: validated.values, step: stepIndex, key: key.current, editing });
  }, [validated.values, stepIndex, editing]);

  const save = useSave<SaveVars, Campaign>({
    initialKey,
    onKeyChange: (next) => {
      key.current = next;
    },
    save: async ({ body, values, submit, note: submitNote }, idempotencyKey) => {
      const options = withIdempotencyKey(idempotencyKey);
      let campaign: Campaign;
      if (editing) {
        campaign = await ok(api.PUT("/v1/admin/campaigns/{campaignId}", { params: { path: { campaignId: editing } }, body: body as CampaignRequest, ...options }));
      } else if (values.source === "template") {
        campaign = await ok(
          api.POST("/v1/admin/campaign-templates/{template}/campaigns", { params: { path: { template: values.template ?? "" } }, body: body as FromTemplate, ...options }),
        );
      } else {
        campaign = await ok(api.POST("/v1/admin/campaigns", { body: body as CampaignRequest, ...options }));
      }
      if (submit) {
        // Its own key, derived: a retry after a lost answer replays the save, then the submission.
        campaign = await ok(
          api.POST("/v1/admin/campaigns/{campaignId}/submit", {
            params: { path: { campaignId: campaign.campaignId } },
            body: submitNote.trim() ? { note: submitNote.trim() } : {},
            ...withIdempotencyKey(`${idempotencyKey}:submit`),
          }),
        );
      }
      return campaign;
    },
    onSuccess: (campaign, vars) => {
      clearDraft();
      void queryClient.invalidateQueries({ queryKey: ["campaigns"] });
      void queryClient.invalidateQueries({ queryKey: keys.campaign(campaign.campaignId) });
      message.success(t(vars.submit ? "builder.submitted" : "builder.saved", { id: campaign.campaignId }));
      navigate(`/campaigns/${campaign.campaignId}`);
    },
  });

  const goTo = (target: Step) => {
    const index = steps.indexOf(target);
    if (index >= 0) setStepIndex(index);
  };

  const attemptSave = (submit: boolean) => {
    if (validated.revealAll()) {
      const first = validated.problems[0];
      if (first) goTo(stepOf(first.path));
      message.error(t("builder.fixFirst"));
      return;
    }
    const values = form.getFieldsValue(true) as BuilderValues;
    const body = toBody(editing ? { ...values, source: "blank" } : values);
    save.mutate(
      { body, values, submit, note },
      {
        onError: (error) => {
          const placed = validated.takeApiError(error, body);
          if (placed[0]) goTo(stepOf(placed[0]));
        },
      },
    );
  };

  const stepProblems = validated.problems.filter((p) => stepOf(p.path) === step);
  const next = () => {
    if (stepProblems.length > 0) validated.revealAll();
    setStepIndex((i) => Math.min(i + 1, steps.length - 1));
  };

  const title = editing ? t("builder.editTitle", { id: editing }) : t("builder.title");
  return (
    <>
      <PageTitle title={title}>{title}</PageTitle>
      {restored && <Alert type="info" showIcon title={t("builder.restored")} data-testid="draft-restored" style={{ marginBottom: 16 }} closable={{ closeIcon: true }} />}
      <Steps
        current={stepIndex}
        onChange={setStepIndex}
        size="small"
        style={{ marginBottom: 24 }}
        items={steps.map((s, index) => ({
          title: t(`builder.steps.${s}`),
          // A step shows its problems once visited (or once a save was tried), not before.
          status: (validated.revealed || index < stepIndex) && s !== step && validated.problems.some((p) => stepOf(p.path) === s) ? "error" : undefined,
        }))}
      />
      <ApiErrorAlert error={save.error} />
      <Card>
        <Form<BuilderValues>
          form={form}
          layout="vertical"
          initialValues={initial}
          onValuesChange={validated.onValuesChange}
          onFinish={() => undefined}
          aria-label={title}
          data-testid="campaign-builder"
        >
          <section hidden={step !== "source"} aria-label={t("builder.steps.source")}>
            {editing ? <Typography.Paragraph>{t("builder.editingHint")}</Typography.Paragraph> : <SourceStep />}
          </section>
          <section hidden={step !== "basics"} aria-label={t("builder.steps.basics")}>
            <BasicsStep editing={!!editing} />
          </section>
          <section hidden={step !== "trigger"} aria-label={t("builder.steps.trigger")}>
            <TriggerStep />
          </section>
          <section hidden={step !== "audience"} aria-label={t("builder.steps.audience")}>
            {steps.includes("audience") && <AudienceStep />}
          </section>
          <section hidden={step !== "variants"} aria-label={t("builder.steps.variants")}>
            <VariantsStep />
          </section>
          <section hidden={step !== "budget"} aria-label={t("builder.steps.budget")}>
            <BudgetStep />
          </section>
          <section hidden={step !== "caps"} aria-label={t("builder.steps.caps")}>
            {steps.includes("caps") && <CapsStep />}
          </section>
          {step === "review" && (
            <section aria-label={t("builder.steps.review")}>
              <Review values={validated.values} editing={editing} />
              {validated.problems.length > 0 && (
                <Alert
                  type="warning"
                  showIcon
                  title={t("builder.problemsLeft", { count: validated.problems.length })}
                  description={
                    <ul style={{ margin: 0 }}>
                      {validated.problems.slice(0, 10).map((p) => (
                        <li key={p.path.join(".") + p.keyword}>
                          <Button type="link" size="small" style={{ padding: 0 }} onClick={() => goTo(stepOf(p.path))}>
                            {t(`builder.steps.${stepOf(p.path)}`)}
                          </Button>{" "}
                          {p.path.join(".")}: {problemText(p, t)}
                        </li>
                      ))}
                    </ul>
                  }
                  style={{ margin: "16px 0" }}
                />
              )}
              {validated.general.length > 0 && <Alert type="error" title={validated.general.join("; ")} style={{ marginBottom: 16 }} />}
              <Form.Item label={t("builder.submitNote")} htmlFor="submit-note">
                <Input.TextArea id="submit-note" rows={2} maxLength={2000} value={note} onChange={(e) => setNote(e.target.value)} style={{ maxWidth: 560 }} />
              </Form.Item>
            </section>
          )}
          <Flex justify="space-between" style={{ marginTop: 16 }}>
            <Button disabled={stepIndex === 0} onClick={() => setStepIndex((i) => Math.max(0, i - 1))}>
              {t("builder.previous")}
            </Button>
            <Space>
              {step !== "review" && (
                <Button type="primary" onClick={next}>
                  {t("builder.next")}
                </Button>
              )}
              {step === "review" && (
                <>
                  <Button onClick={() => attemptSave(false)} loading={save.isPending && !save.variables?.submit} disabled={save.isPending || validated.blocked} data-testid="save-draft">
                    {t("builder.saveDraft")}
                  </Button>
                  <Button type="primary" onClick={() => attemptSave(true)} loading={save.isPending && !!save.variables?.submit} disabled={save.isPending || validated.blocked} data-testid="save-submit">
                    {t("builder.saveSubmit")}
                  </Button>
                </>
              )}
            </Space>
          </Flex>
          {validated.blocked && (
            <Typography.Paragraph type="danger" role="status" style={{ marginTop: 8 }} data-testid="blocked-hint">
              {t("builder.blocked")}
            </Typography.Paragraph>
          )}
        </Form>
      </Card>
    </>
  );
}

function Review({ values, editing }: { values: BuilderValues; editing: string | null }) {
  const { t } = useTranslation();
  const body = toBody(editing ? { ...values, source: "blank" } : values);
  return (
    <>
      <Descriptions
        size="small"
        column={{ xs: 1, md: 2 }}
        bordered
        items={[
          { key: "id", label: t("builder.campaignId"), children: values.campaignId },
          { key: "name", label: t("builder.name"), children: values.name },
          {
            key: "source",
            label: t("builder.source"),
            children: values.source === "template" && !editing ? t(`templates.${values.template ?? ""}.name`, { defaultValue: values.template ?? "" }) : t("builder.blank"),
          },
          { key: "window", label: t("builder.window"), children: `${values.window?.startsAt ?? "—"} → ${values.window?.endsAt ?? "—"}` },
          { key: "control", label: t("builder.controlPercent"), children: `${values.controlPercent ?? 0}%` },
          { key: "budget", label: t("builder.budgetTotal"), children: `${String(values.budget?.total ?? "—")} ${values.budget?.unit === "minor" ? String(values.budget.currency ?? "") : t("builder.unitRewards")}` },
        ]}
      />
      <Typography.Paragraph style={{ marginTop: 16 }} strong>
        {t("builder.bodyPreview")}
      </Typography.Paragraph>
      <JsonBlock value={body} label={t("builder.bodyPreview")} maxHeight={280} testId="body-preview" />
    </>
  );
}
