/**
 * The org tree (组织机构): the signed-in operator's own unit and everything under it, as the API
 * scopes it (docs/org-units.md). A unit's card shows its place, its children and its versions;
 * creating, moving and closing each go through a confirmation. A head office operator whose tree is
 * not set up yet is offered to create the head office.
 */
import { EditOutlined, PlusOutlined, StopOutlined, SwapOutlined } from "@ant-design/icons";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { App, Breadcrumb, Button, Card, Col, Descriptions, Empty, Form, Input, Modal, Popconfirm, Result, Row, Select, Space, Table, Tag, Tree, Typography } from "antd";
import { useMemo, useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";

import { ApiError, ok, withIdempotencyKey } from "../../api/client";
import { useAuth } from "../../auth/AuthContext";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { PageTitle } from "../../components/PageTitle";
import { SectionHeading } from "../../components/SectionHeading";
import { TAG_COLOURS } from "../../components/StatusTag";
import { useApi } from "../../lib/api";
import { formatInstant } from "../../lib/format";
import type { OrgUnit, OrgUnitKind, OrgUnitVersion } from "../../lib/types";
import { useSave } from "../../lib/useSave";
import { ForecastCard } from "./ForecastCard";
import { KpiCard } from "./KpiCard";
import { PoolsCard } from "./PoolsCard";
import { buildTree, childKinds, moveTargets, type OrgNode } from "./orgTree";

const UNIT_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const TREE_KEY = ["org-units"] as const;
const MAX_PAGES = 20; // 500 units a page: a bank's whole tree

function KindTag({ kind }: { kind: OrgUnitKind }) {
  const { t } = useTranslation();
  return <Tag color={TAG_COLOURS.blue}>{t(`org.kinds.${kind}`)}</Tag>;
}

function UnitStatus({ status }: { status: OrgUnit["status"] }) {
  const { t } = useTranslation();
  return (
    <Tag color={status === "open" ? TAG_COLOURS.green : TAG_COLOURS.grey} data-status={status}>
      {t(`org.statuses.${status}`)}
    </Tag>
  );
}

function useTree() {
  const api = useApi();
  return useQuery({
    queryKey: TREE_KEY,
    queryFn: async () => {
      const units: OrgUnit[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < MAX_PAGES; page += 1) {
        const answer = await ok(api.GET("/v1/admin/org-units", { params: { query: { limit: 500, ...(cursor ? { cursor } : {}) } } }));
        units.push(...answer.items);
        if (!answer.nextCursor) break;
        cursor = answer.nextCursor;
      }
      return units;
    },
    retry: false,
  });
}

export default function OrgUnitsPage() {
  const { t } = useTranslation();
  const { session } = useAuth();
  const [params, setParams] = useSearchParams();
  const tree = useTree();
  const [creatingRoot, setCreatingRoot] = useState(false);
  const refusal = tree.error instanceof ApiError && tree.error.status === 403 ? tree.error.code : null;
  const units = useMemo(() => tree.data ?? [], [tree.data]);
  const selected = params.get("unit") ?? units[0]?.unitId ?? null;

  return (
    <>
      <PageTitle title={t("org.title")}>{t("org.title")}</PageTitle>
      {refusal === "ORG_UNIT_REQUIRED" ? (
        <Result status="403" title={t("org.noUnitTitle")} subTitle={t("org.noUnit")} />
      ) : refusal === "ORG_UNIT_UNKNOWN" ? (
        <Card>
          <Empty description={t("org.unknown", { id: session?.orgUnit ?? "" })}>
            {session?.orgUnit && (
              <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreatingRoot(true)} data-testid="org-create-root">
                {t("org.newRoot")}
              </Button>
            )}
          </Empty>
          {creatingRoot && session?.orgUnit && (
            <CreateModal parent={null} rootId={session.orgUnit} onClose={() => setCreatingRoot(false)} onCreated={() => setCreatingRoot(false)} />
          )}
        </Card>
      ) : (
        <>
          <ApiErrorAlert error={tree.error} />
          <Row gutter={16}>
            <Col xs={24} lg={10}>
              <Card title={<SectionHeading>{t("org.tree")}</SectionHeading>} loading={tree.isLoading}>
                {units.length > 0 ? (
                  <UnitTree units={units} selected={selected} onSelect={(unitId) => setParams(new URLSearchParams({ unit: unitId }))} />
                ) : (
                  !tree.isLoading && <Empty description={t("org.empty")} />
                )}
              </Card>
            </Col>
            <Col xs={24} lg={14}>
              {selected ? (
                <UnitCard key={selected} unitId={selected} units={units} onSelect={(unitId) => setParams(new URLSearchParams({ unit: unitId }))} />
              ) : (
                !tree.isLoading && <Empty description={t("org.select")} />
              )}
            </Col>
          </Row>
        </>
      )}
    </>
  );
}

interface TreeItem {
  key: string;
  title: ReactNode;
  children: TreeItem[];
}

function UnitTree({ units, selected, onSelect }: { units: OrgUnit[]; selected: string | null; onSelect: (unitId: string) => void }) {
  const { t } = useTranslation();
  const toData = (node: OrgNode): TreeItem => ({
    key: node.unit.unitId,
    title: (
      <span data-testid={`org-node-${node.unit.unitId}`}>
        {node.unit.name} <KindTag kind={node.unit.kind} />
        {node.unit.status === "closed" && <UnitStatus status="closed" />}
      </span>
    ),
    children: node.children.map(toData),
  });
  const data = buildTree(units).map(toData);
  // Every unit open unless the operator folded it: a unit created or moved in shows at once.
  const [folded, setFolded] = useState<Set<string>>(new Set());
  return (
    <Tree
      aria-label={t("org.tree")}
      treeData={data}
      blockNode
      expandedKeys={units.map((u) => u.unitId).filter((id) => !folded.has(id))}
      onExpand={(_, { node, expanded }) =>
        setFolded((before) => {
          const next = new Set(before);
          if (expanded) next.delete(String(node.key));
          else next.add(String(node.key));
          return next;
        })
      }
      selectedKeys={selected ? [selected] : []}
      onSelect={(keys) => keys[0] !== undefined && onSelect(String(keys[0]))}
    />
  );
}

function UnitCard({ unitId, units, onSelect }: { unitId: string; units: OrgUnit[]; onSelect: (unitId: string) => void }) {
  const { t, i18n } = useTranslation();
  const api = useApi();
  const { session } = useAuth();
  const [dialog, setDialog] = useState<"create" | "edit" | "move" | null>(null);
  const detail = useQuery({
    queryKey: ["org-unit", unitId],
    queryFn: () => ok(api.GET("/v1/admin/org-units/{unitId}", { params: { path: { unitId } } })),
  });
  const versions = useQuery({
    queryKey: ["org-unit", unitId, "versions"],
    queryFn: () => ok(api.GET("/v1/admin/org-units/{unitId}/versions", { params: { path: { unitId } } })),
  });
  const changed = useChanged();
  const close = useSave<OrgUnit, OrgUnit>({
    save: (unit, key) =>
      ok(api.POST("/v1/admin/org-units/{unitId}/close", { params: { path: { unitId: unit.unitId } }, body: { version: unit.version }, ...withIdempotencyKey(key) })),
    onSuccess: changed,
  });
  const unit = detail.data;
  if (!unit) return <Card loading={detail.isLoading}>{detail.error ? <ApiErrorAlert error={detail.error} /> : null}</Card>;
  const own = unit.unitId === session?.orgUnit && unit.parentId !== null; // changed from above it
  const kinds = childKinds(unit);
  const targets = moveTargets(unit, units);
  return (
    <>
    <Card
      title={<SectionHeading>{unit.name}</SectionHeading>}
      extra={
        <Space wrap>
          {kinds.length > 0 && (
            <Button icon={<PlusOutlined />} onClick={() => setDialog("create")} data-testid="org-new-child">
              {t("org.newChild")}
            </Button>
          )}
          <Button icon={<EditOutlined />} disabled={own} onClick={() => setDialog("edit")}>
            {t("common.edit")}
          </Button>
          {unit.parentId !== null && unit.status === "open" && (
            <Button icon={<SwapOutlined />} disabled={own || targets.length === 0} onClick={() => setDialog("move")} data-testid="org-move">
              {t("org.move")}
            </Button>
          )}
          {unit.parentId !== null && unit.status === "open" && (
            <Popconfirm
              title={t("org.closeConfirm", { name: unit.name })}
              okText={t("common.confirm")}
              cancelText={t("common.cancel")}
              okButtonProps={{ danger: true }}
              onConfirm={() => close.mutate(unit)}
              disabled={own || unit.openChildren > 0}
            >
              <Button danger icon={<StopOutlined />} disabled={own || unit.openChildren > 0} loading={close.isPending} data-testid="org-close">
                {t("org.close")}
              </Button>
            </Popconfirm>
          )}
        </Space>
      }
    >
      <ApiErrorAlert error={close.error} />
      {own && <Typography.Paragraph type="secondary">{t("org.ownUnit")}</Typography.Paragraph>}
      {unit.ancestors.length > 0 && (
        <Breadcrumb
          style={{ marginBottom: 12 }}
          items={[
            ...unit.ancestors.map((a) => ({ title: <Typography.Link onClick={() => onSelect(a.unitId)}>{a.name}</Typography.Link> })),
            { title: unit.name },
          ]}
        />
      )}
      <Descriptions size="small" column={{ xs: 1, md: 2 }} data-testid="org-unit">
        <Descriptions.Item label={t("org.id")}>
          <Typography.Text code>{unit.unitId}</Typography.Text>
        </Descriptions.Item>
        <Descriptions.Item label={t("org.kind")}>
          <KindTag kind={unit.kind} />
        </Descriptions.Item>
        <Descriptions.Item label={t("org.status")}>
          <UnitStatus status={unit.status} />
        </Descriptions.Item>
        <Descriptions.Item label={t("org.branchCode")}>{unit.branchCode ?? "—"}</Descriptions.Item>
        <Descriptions.Item label={t("org.children")}>{t("org.childCounts", { open: unit.openChildren, all: unit.childCount })}</Descriptions.Item>
        <Descriptions.Item label={t("org.version")}>{unit.version}</Descriptions.Item>
        <Descriptions.Item label={t("org.updated")}>{`${unit.updatedBy} · ${formatInstant(unit.updatedAt, i18n.language)}`}</Descriptions.Item>
        {unit.closedAt && <Descriptions.Item label={t("org.closedAt")}>{formatInstant(unit.closedAt, i18n.language)}</Descriptions.Item>}
      </Descriptions>
      <div style={{ marginTop: 16, marginBottom: 8 }}>
        <SectionHeading>{t("org.versions")}</SectionHeading>
      </div>
      <Table<OrgUnitVersion>
        size="small"
        rowKey="version"
        aria-label={t("org.versions")}
        loading={versions.isLoading}
        dataSource={versions.data?.items ?? []}
        pagination={{ pageSize: 10, hideOnSinglePage: true }}
        columns={[
          { title: t("org.version"), dataIndex: "version", width: 70 },
          { title: t("org.change"), dataIndex: "action", render: (action: string) => t(`org.actions.${action}`, { defaultValue: action }) },
          { title: t("org.name"), dataIndex: "name" },
          { title: t("org.parent"), dataIndex: "parentId", render: (parent: string | null) => parent ?? "—" },
          { title: t("org.by"), key: "by", render: (_, v) => `${v.savedBy} · ${formatInstant(v.savedAt, i18n.language)}` },
          { title: t("org.note"), dataIndex: "note", render: (note: string | null | undefined) => note ?? "" },
        ]}
      />
      {dialog === "create" && <CreateModal parent={unit} onClose={() => setDialog(null)} onCreated={(created) => onSelect(created.unitId)} />}
      {dialog === "edit" && <EditModal unit={unit} onClose={() => setDialog(null)} />}
      {dialog === "move" && <MoveModal unit={unit} targets={targets} onClose={() => setDialog(null)} />}
    </Card>
    <PoolsCard unitId={unit.unitId} />
    <ForecastCard unitId={unit.unitId} />
    <KpiCard unitId={unit.unitId} />
    </>
  );
}

/** After a change: the tree and the units' cards are read again. */
function useChanged() {
  const queryClient = useQueryClient();
  return () => {
    void queryClient.invalidateQueries({ queryKey: TREE_KEY });
    void queryClient.invalidateQueries({ queryKey: ["org-unit"] });
  };
}

interface CreateValues {
  unitId: string;
  name: string;
  kind: OrgUnitKind;
  branchCode?: string;
}

function CreateModal({ parent, rootId, onClose, onCreated }: { parent: OrgUnit | null; rootId?: string; onClose: () => void; onCreated: (unit: OrgUnit) => void }) {
  const { t } = useTranslation();
  const api = useApi();
  const { message } = App.useApp();
  const [form] = Form.useForm<CreateValues>();
  const changed = useChanged();
  const kinds: OrgUnitKind[] = parent ? childKinds(parent) : ["head_office"];
  const create = useSave<CreateValues, OrgUnit>({
    save: (values, key) =>
      ok(
        api.POST("/v1/admin/org-units", {
          body: { ...values, branchCode: values.branchCode || null, parentId: parent?.unitId ?? null },
          ...withIdempotencyKey(key),
        }),
      ),
    onSuccess: (created) => {
      message.success(t("org.created", { name: created.name }));
      changed();
      onClose();
      onCreated(created);
    },
  });
  return (
    <Modal
      open
      title={parent ? t("org.newChild") : t("org.newRoot")}
      okText={t("org.confirmCreate")}
      cancelText={t("common.cancel")}
      confirmLoading={create.isPending}
      onOk={() => void form.validateFields().then((values) => create.mutate(values))}
      onCancel={onClose}
      destroyOnHidden
    >
      <Typography.Paragraph>{parent ? t("org.createUnder", { parent: parent.name }) : t("org.createRoot", { id: rootId })}</Typography.Paragraph>
      <ApiErrorAlert error={create.error} />
      <Form form={form} layout="vertical" initialValues={{ kind: kinds[0], unitId: rootId ?? "" }} requiredMark>
        <Form.Item name="unitId" label={t("org.id")} rules={[{ required: true, pattern: UNIT_ID, message: t("org.idRule") }]}>
          <Input disabled={!parent} autoComplete="off" />
        </Form.Item>
        <Form.Item name="name" label={t("org.name")} rules={[{ required: true, whitespace: true, max: 200 }]}>
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="kind" label={t("org.kind")} rules={[{ required: true }]}>
          <Select options={kinds.map((kind) => ({ value: kind, label: t(`org.kinds.${kind}`) }))} disabled={!parent} />
        </Form.Item>
        <Form.Item name="branchCode" label={t("org.branchCode")} extra={t("org.branchCodeHint")} rules={[{ max: 64, whitespace: true }]}>
          <Input autoComplete="off" />
        </Form.Item>
      </Form>
    </Modal>
  );
}

function EditModal({ unit, onClose }: { unit: OrgUnit; onClose: () => void }) {
  const { t } = useTranslation();
  const api = useApi();
  const [form] = Form.useForm<{ name: string; branchCode?: string }>();
  const changed = useChanged();
  const edit = useSave<{ name: string; branchCode?: string }, OrgUnit>({
    save: (values, key) =>
      ok(
        api.PUT("/v1/admin/org-units/{unitId}", {
          params: { path: { unitId: unit.unitId } },
          body: { name: values.name, branchCode: values.branchCode || null, version: unit.version },
          ...withIdempotencyKey(key),
        }),
      ),
    onSuccess: () => {
      changed();
      onClose();
    },
  });
  return (
    <Modal
      open
      title={t("org.editTitle", { name: unit.name })}
      okText={t("common.save")}
      cancelText={t("common.cancel")}
      confirmLoading={edit.isPending}
      onOk={() => void form.validateFields().then((values) => edit.mutate(values))}
      onCancel={onClose}
      destroyOnHidden
    >
      <ApiErrorAlert error={edit.error} />
      <Form form={form} layout="vertical" initialValues={{ name: unit.name, branchCode: unit.branchCode ?? "" }}>
        <Form.Item name="name" label={t("org.name")} rules={[{ required: true, whitespace: true, max: 200 }]}>
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="branchCode" label={t("org.branchCode")} extra={t("org.branchCodeHint")} rules={[{ max: 64, whitespace: true }]}>
          <Input autoComplete="off" />
        </Form.Item>
      </Form>
    </Modal>
  );
}

function MoveModal({ unit, targets, onClose }: { unit: OrgUnit; targets: OrgUnit[]; onClose: () => void }) {
  const { t } = useTranslation();
  const api = useApi();
  const [form] = Form.useForm<{ parentId: string; note?: string }>();
  const changed = useChanged();
  const move = useSave<{ parentId: string; note?: string }, OrgUnit>({
    save: (values, key) =>
      ok(
        api.POST("/v1/admin/org-units/{unitId}/move", {
          params: { path: { unitId: unit.unitId } },
          body: { parentId: values.parentId, version: unit.version, note: values.note?.trim() || null },
          ...withIdempotencyKey(key),
        }),
      ),
    onSuccess: () => {
      changed();
      onClose();
    },
  });
  return (
    <Modal
      open
      title={t("org.moveTitle", { name: unit.name })}
      okText={t("org.confirmMove")}
      cancelText={t("common.cancel")}
      confirmLoading={move.isPending}
      onOk={() => void form.validateFields().then((values) => move.mutate(values))}
      onCancel={onClose}
      destroyOnHidden
    >
      <Typography.Paragraph>{t("org.moveExplain", { name: unit.name })}</Typography.Paragraph>
      <ApiErrorAlert error={move.error} />
      <Form form={form} layout="vertical">
        <Form.Item name="parentId" label={t("org.newParent")} rules={[{ required: true }]}>
          <Select
            showSearch
            optionFilterProp="label"
            options={targets.map((target) => ({ value: target.unitId, label: `${target.name} (${t(`org.kinds.${target.kind}`)} · ${target.unitId})` }))}
          />
        </Form.Item>
        <Form.Item name="note" label={t("org.note")} rules={[{ max: 500 }]}>
          <Input autoComplete="off" />
        </Form.Item>
      </Form>
    </Modal>
  );
}
