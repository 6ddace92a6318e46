// ESLint: typescript-eslint's strict, type-aware rules, the layer boundaries from
// DESIGN.md, Pulumi's rule against Outputs in template literals, and jest's rules
// against assertions that cannot fail. `npm run lint` runs it; `npm test` runs lint first.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";
import jest from "eslint-plugin-jest";

/** Imports a pure layer may never make: Pulumi, and the layers above it. */
const impure = [
  { group: ["@pulumi/*", "@muhlba91/*", "@pulumiverse/*"], message: "model/ and render/ are pure: no Pulumi SDK (DESIGN.md, Layers)." },
  {
    group: ["**/components", "**/components/**", "**/stacks", "**/stacks/**", "**/providers/**", "**/cli/**"],
    message: "imports point down only: model/ and render/ never import components/, stacks/, providers/ or cli/.",
  },
];
/** The only modules of the pure layers that read files: the lab's YAML, and the scripts' fixed bash. */
const loaders = ["model/load.ts", "render/scripts/load.ts"];
const noFs = {
  paths: [
    { name: "fs", message: "only the loaders read files: pass data in instead." },
    { name: "node:fs", message: "only the loaders read files: pass data in instead." },
    { name: "fs/promises", message: "only the loaders read files: pass data in instead." },
  ],
};

export default tseslint.config(
  { ignores: ["node_modules/**", "out/**", "bin/**", "coverage/**", "docs/**", "tests/golden/**", "**/*.js", "**/*.mjs"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { "@pulumi": pulumi },
    rules: {
      "@typescript-eslint/switch-exhaustiveness-check": [
        "error",
        { considerDefaultExhaustiveForUnions: false, requireDefaultForNonUnion: false },
      ],
      "@pulumi/no-output-in-template-literal": "error",
      "@pulumi/no-output-instance-in-template-literal": "error",
      // noUncheckedIndexedAccess makes `!` the honest way to say "the schema guarantees it".
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/restrict-template-expressions": [
        "error",
        { allowNumber: true, allowBoolean: true, allow: [{ from: "file", name: "Cidr" }] },
      ],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      eqeqeq: ["error", "always"],
      "@typescript-eslint/prefer-nullish-coalescing": "error",
    },
  },
  {
    files: ["model/**/*.ts", "render/**/*.ts", "pages/**/*.ts"],
    ignores: loaders,
    rules: { "no-restricted-imports": ["error", { patterns: impure, ...noFs }] },
  },
  {
    files: loaders,
    rules: { "no-restricted-imports": ["error", { patterns: impure }] },
  },
  {
    // Sizes a reader can hold: split by domain long before a file or a function grows past these.
    files: ["model/**/*.ts"],
    rules: {
      "max-lines": ["error", { max: 400, skipBlankLines: true, skipComments: true }],
      "max-lines-per-function": ["error", { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ["model/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [...impure, { group: ["**/render/**", "**/pages/**"], message: "model/ is below render/ and pages/." }], ...noFs },
      ],
    },
    ignores: ["model/load.ts"],
  },
  {
    files: ["tests/**/*.ts"],
    ...jest.configs["flat/recommended"],
    rules: {
      ...jest.configs["flat/recommended"].rules,
      "jest/no-conditional-expect": "error",
      "jest/expect-expect": ["error", { assertFunctionNames: ["expect", "expect*", "assert*", "must*"] }],
      "jest/valid-expect": ["error", { alwaysAwait: true }],
      "jest/no-standalone-expect": "error",
      "jest/no-disabled-tests": "error",
      "jest/no-focused-tests": "error",
      "@typescript-eslint/no-floating-promises": "error",
      // Tests read JSON that the CLI and the plan print; typing every probe would only restate it.
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-explicit-any": "off",
    },
  },
);
