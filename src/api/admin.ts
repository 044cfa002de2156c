import { OpenAPIHono } from "@hono/zod-openapi";
import { credentialsApi } from "./admin-credentials";
import { instancesApi } from "./admin-instances";
import { ledgerApi } from "./admin-ledger";
import { type AppEnv, requireAdmin } from "./shared";

/**
 * The admin API, split by concern. `requireAdmin` is registered before the routes are mounted, so it runs
 * ahead of every one of them (and of their validation), as it did when they all lived in one file. The
 * mount order is the order of the paths in /openapi.json: keep it.
 */
export const adminApi = new OpenAPIHono<AppEnv>();
adminApi.use("/admin/*", requireAdmin);
adminApi.route("/", instancesApi);
adminApi.route("/", credentialsApi);
adminApi.route("/", ledgerApi);
