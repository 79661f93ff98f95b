#!/usr/bin/env node
// The `hopwire` command: a checked-in file, not the build output itself, because npm links a
// workspace package's bins while installing, before `prepare` has built dist/ — a bin that
// does not exist yet is not linked, and `npx hopwire` then fails in a fresh clone.
import "../dist/bundle/bin.js";
