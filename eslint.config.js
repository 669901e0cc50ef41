// @ts-check
import eslint from "@eslint/js"
import stylistic from "@stylistic/eslint-plugin"
import tseslint from "typescript-eslint"

export default tseslint.config(
    { ignores: ["dist/", "node_modules/", "examples/", "bin/", "scripts/*.js", "eslint.config.js"] },
    eslint.configs.recommended,
    ...tseslint.configs.strictTypeChecked,
    ...tseslint.configs.stylisticTypeChecked,
    {
        languageOptions: {
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        plugins: { "@stylistic": stylistic },
        rules: {
            "@stylistic/indent": ["error", 4],
            "@stylistic/semi": ["error", "never"],
            "@stylistic/quotes": ["error", "double", { avoidEscape: true }],
            "@stylistic/max-len": ["error", { code: 100, ignoreUrls: true }],
            "@stylistic/comma-dangle": ["error", "always-multiline"],
            "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
        },
    },
    {
        files: ["test/**/*.ts", "bench/**/*.ts"],
        rules: {
            "@typescript-eslint/no-non-null-assertion": "off",
            "@typescript-eslint/no-floating-promises": "off",
        },
    },
)
