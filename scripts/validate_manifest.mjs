// Validate a Teams app package with Microsoft's own schema package, @microsoft/app-manifest (offline).
//
// usage: node scripts/validate_manifest.mjs app.zip          (the package `flask manifest build` writes)
//        node scripts/validate_manifest.mjs path/to/folder   (manifest.json and the files it names)
//
// manifest.json goes through the package's own AppManifestUtils.validateAgainstSchema, which picks the
// bundled schema from its $schema URL. The localization files are checked against the bundled
// Localization schema of their own $schema with Ajv (draft-04, as the package compiles it), but with
// unicodeRegExp:false: those schemas hold a regex that is invalid under the `u` flag, so the package's API
// cannot compile them (see reference/microsoft-365.md §1.6). Prints every problem; exits 1 when any.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { AppManifestUtils } = require("@microsoft/app-manifest");
const Ajv04 = require("ajv-draft-04");
const addFormats = require("ajv-formats");

const SCHEMA_ROOT = path.join(path.dirname(require.resolve("@microsoft/app-manifest/package.json")), "build");
const SCHEMA_URL = /^https:\/\/developer\.microsoft\.com\/(?:[a-z]{2}(?:-[a-z]{2})?\/)?(json-schemas\/teams\/v[^/]+\/MicrosoftTeams(?:\.Localization)?\.schema\.json)$/i;

// The files of a zip archive by name (stored or deflated entries, as Python's zipfile writes them).
function readZip(file) {
  const buf = fs.readFileSync(file);
  let end = buf.length - 22;
  while (end >= 0 && buf.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error(`${file} is not a zip archive`);
  const count = buf.readUInt16LE(end + 10);
  let at = buf.readUInt32LE(end + 16);
  const files = new Map();
  for (let i = 0; i < count; i++) {
    const method = buf.readUInt16LE(at + 10);
    const size = buf.readUInt32LE(at + 20);
    const nameLength = buf.readUInt16LE(at + 28);
    const skip = nameLength + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32);
    const name = buf.toString("utf8", at + 46, at + 46 + nameLength);
    const local = buf.readUInt32LE(at + 42);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + size);
    files.set(name, method === 8 ? zlib.inflateRawSync(data) : Buffer.from(data));
    at += 46 + skip;
  }
  return files;
}

function readFolder(folder) {
  const files = new Map();
  for (const name of fs.readdirSync(folder)) {
    const full = path.join(folder, name);
    if (fs.statSync(full).isFile()) files.set(name, fs.readFileSync(full));
  }
  return files;
}

function parse(name, bytes) {
  return JSON.parse(bytes.toString("utf8").replace(/^\uFEFF/, ""));
}

function localSchema(url) {
  const match = SCHEMA_URL.exec(url || "");
  if (!match) throw new Error(`unsupported or missing $schema: ${url}`);
  const file = path.join(SCHEMA_ROOT, match[1]);
  if (!fs.existsSync(file)) throw new Error(`@microsoft/app-manifest has no schema for ${url}`);
  return parse(file, fs.readFileSync(file));
}

function validateLocalization(doc) {
  const ajv = new Ajv04({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats(ajv, ["uri", "email", "regex"]);
  const validate = ajv.compile(localSchema(doc.$schema));
  if (validate(doc)) return [];
  return validate.errors.map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
}

async function main(target) {
  const files = target.endsWith(".zip") ? readZip(target) : readFolder(target);
  const report = [];
  if (!files.has("manifest.json")) {
    report.push(["manifest.json", ["missing at the package root"]]);
  } else {
    const manifest = parse("manifest.json", files.get("manifest.json"));
    localSchema(manifest.$schema); // fail clearly when the package does not bundle this schema version
    report.push(["manifest.json", await AppManifestUtils.validateAgainstSchema(manifest)]);
    const info = manifest.localizationInfo || {};
    const names = [info.defaultLanguageFile, ...(info.additionalLanguages || []).map((l) => l.file)].filter(Boolean);
    for (const name of names) {
      report.push([name, files.has(name) ? validateLocalization(parse(name, files.get(name))) : ["missing"]]);
    }
  }
  let bad = 0;
  for (const [name, errors] of report) {
    console.log(`${target}: ${name}: ${errors.length ? "INVALID" : "OK"}`);
    for (const error of errors) console.log(`  ${error}`);
    if (errors.length) bad++;
  }
  return bad ? 1 : 0;
}

const targets = process.argv.slice(2);
if (targets.length === 0) {
  console.error("usage: node scripts/validate_manifest.mjs app.zip|folder ...");
  process.exit(2);
}
let status = 0;
for (const target of targets) {
  try {
    status = Math.max(status, await main(target));
  } catch (error) {
    console.log(`${target}: ${error.message}`);
    status = 1;
  }
}
process.exit(status);
