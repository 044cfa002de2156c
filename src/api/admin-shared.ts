import { z } from "@hono/zod-openapi";
import { commonErrors, InstanceId } from "./schemas";

// What every admin route declares alike, kept in one place so the split files cannot drift apart in
// /openapi.json. The check itself is `requireAdmin`, applied once where admin.ts mounts them.
export const adminErrors = commonErrors("Missing or wrong admin token");
export const adminSecurity = [{ adminToken: [] }];
export const InstanceParams = z.object({ id: InstanceId });
