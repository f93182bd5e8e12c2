import { describe, expect, it } from "vitest";

import { sessionFromToken } from "../../auth/session";
import type { OrgUnit, OrgUnitKind } from "../../lib/types";
import { buildTree, childKinds, moveTargets, subtreeOf } from "./orgTree";

function unit(unitId: string, kind: OrgUnitKind, parentId: string | null, status: "open" | "closed" = "open"): OrgUnit {
  return {
    unitId, kind, parentId, status, name: unitId, depth: 0, branchCode: null, version: 1, openChildren: 0, childCount: 0,
    createdAt: "", createdBy: "", updatedAt: "", updatedBy: "",
  };
}

// The listing's order: depth first
const LISTED = [
  unit("bj", "branch", "hq"),
  unit("bj-hd", "sub_branch", "bj"),
  unit("bj-hd-1", "outlet", "bj-hd"),
  unit("bj-a", "outlet", "bj"),
  unit("bj-old", "sub_branch", "bj", "closed"),
];

describe("the org tree", () => {
  it("is built from the listing, the operator's own unit its root, children by id", () => {
    const [root, ...others] = buildTree(LISTED);
    expect(others).toEqual([]);
    expect(root?.unit.unitId).toBe("bj");
    expect(root?.children.map((n) => n.unit.unitId)).toEqual(["bj-a", "bj-hd", "bj-old"]);
    expect(root?.children[1]?.children.map((n) => n.unit.unitId)).toEqual(["bj-hd-1"]);
  });

  it("offers only deeper kinds under an open unit, none under a closed one", () => {
    expect(childKinds(unit("hq", "head_office", null))).toEqual(["branch", "sub_branch", "outlet"]);
    expect(childKinds(unit("bj-hd", "sub_branch", "bj"))).toEqual(["outlet"]);
    expect(childKinds(unit("o", "outlet", "bj"))).toEqual([]);
    expect(childKinds(unit("bj-old", "sub_branch", "bj", "closed"))).toEqual([]);
  });

  it("moves a unit only under open units of a higher rank outside its own subtree", () => {
    expect(subtreeOf("bj-hd", LISTED)).toEqual(new Set(["bj-hd", "bj-hd-1"]));
    const outlet = LISTED[2] as OrgUnit;
    expect(moveTargets(outlet, LISTED).map((u) => u.unitId)).toEqual(["bj"]); // not its parent now, not the closed one
    const sub = LISTED[1] as OrgUnit;
    expect(moveTargets(sub, LISTED).map((u) => u.unitId)).toEqual([]); // its branch is its parent already
  });
});

describe("the session", () => {
  it("reads the operator's org unit from custom:orgUnit", () => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const token = (claims: Record<string, unknown>) => `${encode({ alg: "HS256" })}.${encode(claims)}.signature`;
    expect(sessionFromToken(token({ sub: "op-1", "custom:orgUnit": "sh", exp: 2_000_000_000 })).orgUnit).toBe("sh");
    expect(sessionFromToken(token({ sub: "op-1", exp: 2_000_000_000 })).orgUnit).toBeUndefined();
  });
});
