/**
 * One jest run covers every tier: unit, mocks, tools and twin. swc transpiles (no type
 * check: `npm run typecheck` is the strict gate), and the setup file turns off stack
 * capture, which Pulumi pays for on every promise (reference section 7).
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "commonjs" } }] },
  setupFiles: ["<rootDir>/tests/support/setup.ts"],
  testEnvironmentOptions: { globalsCleanup: "off" },
  maxWorkers: 2,
  testTimeout: 30000,
};
