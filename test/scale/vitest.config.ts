import { defineConfig } from "vitest/config";

/**
 * Node-side tests that serve the production bundle in workerd through Miniflare and drive it from
 * outside (test/scale/hourly.scale.test.ts says why they cannot run inside the Workers pool).
 */
export default defineConfig({
  test: {
    include: ["test/scale/**/*.test.ts"],
    environment: "node",
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
