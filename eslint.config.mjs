// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import reactHooks from 'eslint-plugin-react-hooks';

// Import boundaries (issue "Structure", item 6): a lib never reaches into an app, an app never
// into the other. Only src/ is checked: the e2e tests (apps/*/test, test/) may cross.
const intoApps = {
  regex: '(^|/)apps(/|$)',
  message: 'libs/ must not import from apps/: keep the code in the app or move it into the lib.',
};
const intoApp = (app) => ({
  regex: `(^|/)${app}(/|$)`,
  message: `Do not import from apps/${app}: share the code through a lib in libs/.`,
});

// libs/billing and libs/errors know no HTTP: they throw domain errors (@app/errors) with a code and
// take and return keyset positions; statuses, cursors and pages belong to libs/http and the apps.
const noHttp = (lib) => ({
  regex: '^(@app/http|@nestjs/platform-express|express)(/|$)',
  message: `${lib} knows no HTTP: throw TollgateError (@app/errors) with a code, return positions.`,
});

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.tollgate/**',
      '.bench/**',
      '.test-services/**',
      'eslint.config.mjs',
      'jest.config.js',
      'scripts/*.js',
      'scripts/*.mjs',
      'bench/*.js',
      'bench/framework/*.js',
      'test/fake-upstream/*.js',
      'test/reliability/*.js',
      'libs/client/src/generated/**',
      'bin/*.js',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  prettier,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['libs/*/src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [intoApps] }] },
  },
  // Node 20's V8 (11.3) builds a literal that starts with a spread and goes on with properties
  // ({ ...a, b }) on a slow path, ~1.5 µs per property after the spread (a 12-property call
  // context cost 21 µs, a plain literal 0.1): measured in docs/performance-profile.md.
  {
    files: ['apps/team-gateway/src/**/*.ts', 'libs/*/src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ObjectExpression > SpreadElement:first-child ~ Property',
          message:
            '{ ...a, b } is slow on Node 20 (V8 11.3, ~1.5 µs per property after a leading spread): write Object.assign({}, a, { b }), or start the literal with a property.',
        },
      ],
    },
  },
  {
    files: ['libs/billing/src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [intoApps, noHttp('libs/billing')] }] },
  },
  {
    files: ['libs/errors/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            intoApps,
            noHttp('libs/errors'),
            {
              regex: '^@(app|nestjs)/',
              message: 'libs/errors is the bottom of the tree: it imports no lib and no framework.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['apps/console/src/**/*.{ts,tsx}'],
    ...reactHooks.configs.flat.recommended,
  },
  {
    files: ['apps/admin-api/src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [intoApp('team-gateway')] }] },
  },
  {
    files: ['apps/team-gateway/src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [intoApp('admin-api')] }] },
  },
);
