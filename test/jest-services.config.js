// `npm run test:services`: the e2e suites and the service-only suites against real PostgreSQL and
// Redis. test/services/run-services.js sets TEST_DATABASE_URL and TEST_REDIS_URL first.
const base = require('../jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test'],
  testRegex: '\\.(e2e-spec|services-spec)\\.ts$',
  // Suites that run the server as separate processes need it compiled.
  globalSetup: '<rootDir>/test/services/build-server.js',
  testTimeout: 60000,
};
