import schemas from "virtual:openapi-schemas";

import { SchemaValidator } from "./schemaValidator";

/** One validator over the document's schemas, for every form (the schemas load with the first form). */
export const validator = new SchemaValidator(schemas);
