declare module "virtual:openapi-schemas" {
  /** `components.schemas` of docs/openapi.json (see build-tools/openapi-schemas.ts). */
  const schemas: Record<string, unknown>;
  export default schemas;
}
