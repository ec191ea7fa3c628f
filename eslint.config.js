// ESLint flat config: typescript-eslint's type-checked recommended rules over all TypeScript sources.
import { defineConfig, globalIgnores } from 'eslint/config';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['node_modules/', 'cdk.out/', '.reshard/', '.vitest/', '.scratch/']),
  {
    files: ['{lambdas,lib,bin,local,bench,test}/**/*.ts', '*.config.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A variable assigned once, after a closure that reads it is built, stays `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // A leading underscore marks a parameter or binding kept on purpose (callback shapes, destructured omissions).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read untyped rows, JSON output and SDK responses directly and assert on them.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // expect(obj.method).toHaveBeenCalled() and spies pass methods without calling them.
      '@typescript-eslint/unbound-method': 'off',
      // Test doubles implement async interfaces (stores, clients, readers) and answer at once.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Plain JavaScript (this file, the dependency-cruiser config, examples) is outside the TypeScript project.
    files: ['**/*.{js,cjs,mjs}'],
    extends: [js.configs.recommended],
    languageOptions: {
      globals: { module: 'readonly', require: 'readonly', process: 'readonly', console: 'readonly' },
    },
  },
);
