// @ts-check
import { readdirSync } from 'node:fs';
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Module boundaries (test/lint/boundaries.spec.ts proves each one is reported).
const relativeImports = {
  group: ['../*'],
  message: 'Import through a path alias, not ../',
};
/** The libraries are infrastructure: they take their own options and know nothing of the app. */
const appFromLibraries = {
  group: ['@app/*', '@config', '@config/*', '@test/*', '@bench/*'],
  message: 'A library must not import the application (src/, config/): take options instead.',
};
/** The server shares the protocol with the client through libs/protocol, not the REST client. */
const clientFromServer = {
  group: ['@libs/client', '@libs/client/*'],
  message: 'The server must not load the generated client: import @libs/protocol.',
};
/** Feature modules talk through each other's exported services. */
function otherFeaturesData(feature, { allowEntities = false } = {}) {
  const own = [`!@app/${feature}/*`];
  return [
    {
      group: ['@app/*/*.repository', ...own],
      message: "Another feature's repository is private to it: call its service.",
    },
    ...(allowEntities
      ? []
      : [
          {
            group: ['@app/*/*.entity', ...own],
            // A type is the service's contract; a value would let this module query the table.
            allowTypeImports: true,
            message:
              "Another feature's entity is private to it: call its service (import type is fine).",
          },
        ]),
  ];
}
const restrictImports = (...patterns) => ({
  'no-restricted-imports': 'off',
  '@typescript-eslint/no-restricted-imports': [
    'error',
    { patterns: [relativeImports, ...patterns] },
  ],
});
/** src/ folders that are features; database/ registers every entity and runs the migrations. */
const features = readdirSync(new URL('./src', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== 'database')
  .map((entry) => entry.name);
const processEnvBan = [
  'error',
  {
    selector: "MemberExpression[object.name='process'][property.name='env']",
    message: 'Read configuration from AppConfig (@config), not process.env.',
  },
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'coverage/**',
      'data/**',
      'libs/client/src/generated/**',
      'eslint.config.mjs',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  prettier,
  {
    languageOptions: {
      globals: { ...globals.node, ...globals.jest },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      curly: ['error', 'all'],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      // Cross-folder imports go through the path aliases (@app/…, @config, @libs/…, @test/…).
      ...restrictImports(),
      // Only config/ and the entry points read the environment.
      'no-restricted-syntax': processEnvBan,
    },
  },
  { files: ['libs/**'], rules: restrictImports(appFromLibraries) },
  {
    files: ['libs/protocol/**'],
    rules: restrictImports(appFromLibraries, {
      group: ['@libs/*'],
      message: 'The protocol stands alone: types and constants only.',
    }),
  },
  { files: ['src/**', 'config/**'], rules: restrictImports(clientFromServer) },
  ...features.flatMap((feature) => [
    {
      files: [`src/${feature}/**`],
      rules: restrictImports(clientFromServer, ...otherFeaturesData(feature)),
    },
    {
      // Entities name their relations' entities (TypeORM needs the class).
      files: [`src/${feature}/**/*.entity.ts`],
      rules: restrictImports(
        clientFromServer,
        ...otherFeaturesData(feature, { allowEntities: true }),
      ),
    },
  ]),
  {
    // Entry points, and tools that run beside the app (their own processes' environment).
    files: [
      'config/**',
      'src/main.ts',
      'src/cluster.ts',
      'src/bootstrap/environment.ts',
      'bench/**',
      'scripts/**',
      'test/support/**',
      'test/services/**',
    ],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    // Tests read response bodies, which supertest types as any.
    files: ['test/**/*.ts', '**/*.spec.ts', '**/*.e2e-spec.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The console's page runs in the browser as an ES module, served as written (no build step).
    files: ['src/console/page/**/*.js'],
    languageOptions: { sourceType: 'module', globals: globals.browser },
  },
);
