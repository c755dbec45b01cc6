// The SDK warns once per process that it will soon need Node 22; this variable is the switch it reads
// (see emitWarningIfUnsupportedVersion in @aws-sdk/core). Imported by tests only, never by the library.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
