// Node-RED settings for the benchmarks: no editor, no credentials file, logs at warn; the port
// and the flows file come from the environment (benchmarks/nodered.py sets them).
module.exports = {
  uiPort: parseInt(process.env.NODE_RED_PORT || "1880", 10),
  uiHost: "127.0.0.1",
  flowFile: process.env.NODE_RED_FLOWS,
  userDir: process.env.NODE_RED_USER_DIR,
  httpAdminRoot: false,
  credentialSecret: false,
  logging: { console: { level: "warn", metrics: false, audit: false } },
  editorTheme: { tours: false },
  externalModules: { autoInstall: false },
};
