#!/usr/bin/env node
// The `latchkey` command: the compiled CLI (built by `npm install`, see package.json).
import "../dist/cli/main.js";
