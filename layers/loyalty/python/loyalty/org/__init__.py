"""The bank's organisation (组织机构): a tree of head office (总行), branches (分行), sub-branches (支行)
and outlets (网点), versioned and audited, and the operator's place in it (docs/org-units.md). Other
capabilities read it through `loyalty.org.ports` only."""
