import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest(async ({ inject }) => {
      const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
      const bases = inject("standinBases");
      return {
        main: "./src/index.ts",
        wrangler: { configPath: "./wrangler.jsonc" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            ADMIN_TOKEN: "test-admin-token-0123456789",
            TOKEN_ENCRYPTION_KEY: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            // The key being rotated out (docs/deploy.md): tokens it sealed still open, and are sealed again.
            TOKEN_ENCRYPTION_KEY_PREVIOUS: "OTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTBmZWRjYmE=",
            STRIPE_SECRET_KEY: "sk_test_standin_secret",
            STRIPE_WEBHOOK_SECRET: "whsec_standin_secret",
            AI_API_KEY: "ai-standin-key",
            PUBLIC_BASE_URL: "https://credits.example.test",
            TELEGRAM_API_BASE: bases.telegram,
            STRIPE_API_BASE: bases.stripe,
            AI_BASE_URL: `${bases.model}/v1`,
          },
        },
      };
    }),
  ],
  // Vite's warnings about stripe's published source maps say nothing about this project.
  logLevel: "error",
  // FUZZ_RUNS / FUZZ_SEED reach the fuzz tests inside workerd as import.meta.env (test/fuzz/budget.ts).
  envPrefix: ["VITE_", "FUZZ_", "FAULT_", "SCALE_"],
  test: {
    // test/scale runs in Node against the production bundle (its own config, test/scale/vitest.config.ts).
    exclude: [...configDefaults.exclude, "test/scale/**"],
    globalSetup: ["./test/global-setup.ts"],
    setupFiles: ["./test/apply-migrations.ts"],
    // The product logs JSON lines on purpose; a passing test's lines are noise, a failing test's are evidence.
    silent: "passed-only",
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
