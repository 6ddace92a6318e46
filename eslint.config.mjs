// ESLint: typescript-eslint's strict, type-aware rules, the layer boundaries from
// DESIGN.md, Pulumi's rule against Outputs in template literals, and jest's rules
// against assertions that cannot fail. `npm run lint` runs it; `npm test` runs lint first.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";
import jest from "eslint-plugin-jest";

/** Imports a pure layer (model/, render/, pages/) may never make: Pulumi, and the layers above it. */
const impure = [
  {
    group: ["@pulumi/*", "@muhlba91/*", "@pulumiverse/*"],
    message: "model/, render/ and pages/ are pure: no Pulumi SDK (DESIGN.md, Layers).",
  },
  {
    group: ["**/components", "**/components/**", "**/stacks", "**/stacks/**", "**/providers/**", "**/cli/**"],
    message: "imports point down only: model/, render/ and pages/ never import components/, stacks/, providers/ or cli/.",
  },
];
/** pages/ sits on model/ and render/: neither may import it. */
const noPages = {
  group: ["**/pages", "**/pages/**"],
  message: "pages/ is above model/ and render/: pass plan data down, never import the docs layer.",
};
/** model/ is the bottom layer: render/ and pages/ read it, never the other way. */
const noRender = { group: ["**/render", "**/render/**"], message: "model/ is below render/ and pages/." };
/** The only modules of the pure layers that read files (the lab's YAML, and the scripts' fixed bash); none runs a program. */
const loaders = ["model/load.ts", "render/scripts/load.ts"];
const noPrograms = ["child_process", "node:child_process"].map((name) => ({
  name,
  message: "the pure layers run no programs: the tests and the CLI run the real tools.",
}));
const noFs = {
  paths: [
    ...["fs", "node:fs", "fs/promises", "node:fs/promises"].map((name) => ({
      name,
      message: "only the loaders read files: pass data in instead.",
    })),
    ...noPrograms,
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
  // Later blocks override earlier ones for the same rule: each file gets the most specific list.
  {
    files: ["pages/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: impure, ...noFs }] },
  },
  {
    files: ["render/**/*.ts"],
    ignores: loaders,
    rules: { "no-restricted-imports": ["error", { patterns: [...impure, noPages], ...noFs }] },
  },
  {
    // Sizes a reader can hold: split by domain long before a file or a function grows past these.
    files: ["model/**/*.ts", "render/**/*.ts", "pages/**/*.ts"],
    rules: {
      "max-lines": ["error", { max: 400, skipBlankLines: true, skipComments: true }],
      "max-lines-per-function": ["error", { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ["model/**/*.ts"],
    ignores: loaders,
    rules: { "no-restricted-imports": ["error", { patterns: [...impure, noPages, noRender], ...noFs }] },
  },
  {
    files: ["render/scripts/load.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: [...impure, noPages], paths: noPrograms }] },
  },
  {
    files: ["model/load.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: [...impure, noPages, noRender], paths: noPrograms }] },
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
