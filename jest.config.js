// Unit specs beside the code and the e2e suites in test/, on the embedded defaults.
// The service-backed run (`npm run test:services`) reuses this with test/jest-services.config.js.
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { pathsToModuleNameMapper } = require('ts-jest');
const { compilerOptions } = require('./tsconfig.json');

/** @type {import('jest').Config} */
module.exports = {
  rootDir: __dirname,
  roots: ['src', 'config', 'libs', 'test', 'bench']
    .filter((folder) => existsSync(join(__dirname, folder)))
    .map((folder) => `<rootDir>/${folder}`),
  testRegex: '\\.(spec|e2e-spec)\\.ts$',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testEnvironment: 'node',
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' }),
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
    // content-disposition 3 (via @fastify/static) is ESM-only; Jest on Node 20 needs it as CommonJS.
    'node_modules/content-disposition/.+\\.js$': [
      'ts-jest',
      { tsconfig: { allowJs: true, module: 'commonjs', isolatedModules: true } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
  testTimeout: 30000,
  // A test fails when a WebSocket frame it sent or received breaks asyncapi.json.
  setupFilesAfterEnv: ['<rootDir>/test/support/frame-contract.setup.ts'],
};
