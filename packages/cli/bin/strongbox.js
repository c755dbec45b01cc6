#!/usr/bin/env node
// Thin launcher kept in git so package managers can link the command before the first build.
import "../dist/bin.js";
