#!/usr/bin/env node
// The `ds-selection` staff CLI (package.json "bin"): the CLI is TypeScript, run through tsx's
// loader so that no build step stands between a checkout and `npx ds-selection`.
import { register } from 'tsx/esm/api';

// The SDK's "node >= 22 from 2027" notice would open every command's output; ops see it elsewhere.
// Set the variable to "false" to get it back.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { main } = await import(new URL('../infra/cli/main.ts', import.meta.url).href);
await main();
