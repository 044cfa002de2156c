// A script, not a module (no top-level import), so the wildcard module below is ambient.

declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    TOKEN_ENCRYPTION_KEY_PREVIOUS: string;
  }
}

declare module "*.md?raw" {
  /** A file's text, imported with Vite's `?raw` suffix (docs read by tests). */
  const text: string;
  export default text;
}
