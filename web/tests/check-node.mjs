// Fails the test command on a Node older than package.json's `engines.node`
// (a lower bound, `>=MAJOR.MINOR`): the test runner's flags and behaviour
// differ below it.
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const wanted = pkg.engines?.node ?? '';
const m = /^>=(\d+)\.(\d+)$/.exec(wanted);
if (!m) {
  console.error(`package.json engines.node is ${JSON.stringify(wanted)}, expected ">=MAJOR.MINOR"`);
  process.exit(1);
}
const [major, minor] = process.versions.node.split('.').map(Number);
const [wantMajor, wantMinor] = [Number(m[1]), Number(m[2])];
if (major < wantMajor || (major === wantMajor && minor < wantMinor)) {
  console.error(`the web tests need Node ${wanted} (package.json engines); this is ${process.version}`);
  process.exit(1);
}
