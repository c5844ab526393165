import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real engines on free ports; two cores here, so keep it modest.
    maxWorkers: 2,
    // The JSON report feeds the "N passed, N failed" line of .ci/run.
    reporters: ['default', ['json', { outputFile: '.tmp/vitest-results.json' }]],
    env: {
      // The SDK warns on Node 20 at every client; the code runs on 20 and 22 alike.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  },
});
