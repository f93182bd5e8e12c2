/**
 * The org tree as the screen draws it, and the choices the API's rules leave (docs/org-units.md):
 * kinds strictly deepen (head office > branch > sub-branch > outlet, levels may be skipped), a closed
 * unit takes no new units, and a unit never goes under itself or a unit under it. The API decides;
 * these only keep the pickers to what it would accept.
 */
import type { OrgUnit, OrgUnitKind } from "../../lib/types";

export const KINDS: OrgUnitKind[] = ["head_office", "branch", "sub_branch", "outlet"];

export function rank(kind: OrgUnitKind): number {
  return KINDS.indexOf(kind);
}

export interface OrgNode {
  unit: OrgUnit;
  children: OrgNode[];
}

/** The listing (depth first) as a tree: a unit whose parent is not listed is a root of what is shown. */
export function buildTree(units: OrgUnit[]): OrgNode[] {
  const nodes = new Map(units.map((unit) => [unit.unitId, { unit, children: [] as OrgNode[] }]));
  const roots: OrgNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.unit.parentId ? nodes.get(node.unit.parentId) : undefined;
    if (parent) parent.children.push(node);
    else roots.push(node);
  }
  const byId = (a: OrgNode, b: OrgNode) => (a.unit.unitId < b.unit.unitId ? -1 : a.unit.unitId > b.unit.unitId ? 1 : 0);
  const sort = (list: OrgNode[]): OrgNode[] => list.sort(byId).map((node) => ({ ...node, children: sort(node.children) }));
  return sort(roots);
}

/** The kinds a new unit under `parent` may be. */
export function childKinds(parent: OrgUnit): OrgUnitKind[] {
  return parent.status === "open" ? KINDS.filter((kind) => rank(kind) > rank(parent.kind)) : [];
}

/** `unitId` and every unit under it, among those listed. */
export function subtreeOf(unitId: string, units: OrgUnit[]): Set<string> {
  const found = new Set([unitId]);
  // The listing is depth first, so the first pass finds them all; another order takes more passes.
  for (let size = 0; size !== found.size; ) {
    size = found.size;
    for (const unit of units) if (unit.parentId && found.has(unit.parentId)) found.add(unit.unitId);
  }
  return found;
}

/** Where `moving` may go: open units of a higher rank, outside its own subtree, not its parent now. */
export function moveTargets(moving: OrgUnit, units: OrgUnit[]): OrgUnit[] {
  const own = subtreeOf(moving.unitId, units);
  return units.filter(
    (unit) => unit.status === "open" && rank(unit.kind) < rank(moving.kind) && !own.has(unit.unitId) && unit.unitId !== moving.parentId,
  );
}
