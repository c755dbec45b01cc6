#!/usr/bin/env -S node --max-semi-space-size=1
// Thin launcher kept in git so package managers can link the command before the first build.
import "../dist/bin.js";
