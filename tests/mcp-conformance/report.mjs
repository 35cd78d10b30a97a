#!/usr/bin/env node
// Compares two result trees written by `conformance server -o DIR` (the fixture reached
// directly, and the same fixture behind Weir), prints scenario → direct / through Weir,
// and prints every failing check of the Weir run with what the suite saw.
//
// Usage: node report.mjs <direct-results> <weir-results> <expected-scenarios.txt> [--bridged]
// With --bridged, the Weir run reached a fixture of the other revision: the expected file lists
// the scenarios that must pass through Weir, and the exit status is 1 when one does not.
// Exit status: 1 when a scenario passing directly does not pass through Weir, when a check
// succeeding directly does not succeed through Weir (unless ALLOWED_LOSSES says why not), or
// when an expected scenario does not pass directly; 0 otherwise.

import fs from 'node:fs';
import path from 'node:path';

const [directDir, weirDir, expectedFile] = process.argv.slice(2);
// Bridged: the Weir run reached a fixture of the other revision, so the direct run is the
// reference to compare with, and the expected file lists what must pass through Weir.
const bridged = process.argv.includes('--bridged');
if (!directDir || !weirDir || !expectedFile) {
  console.error('usage: report.mjs <direct-results> <weir-results> <expected-scenarios.txt>');
  process.exit(2);
}

const DETAIL_LIMIT = 2500;

// Checks that may succeed directly and not through Weir, by scenario, with why that is not a
// gateway showing. Keep it short: every entry is a place where Weir is visible to a client.
const ALLOWED_LOSSES = {
  'server-sse-multiple-streams': {
    // The suite's tools/list answers: Weir composes a list itself (filtered by policy, and on
    // the aggregate prefixed and merged across backends) and answers it as JSON, which the
    // spec allows; the check is only INFO for a JSON answer.
    'server-sse-streams-functional': 'Weir answers tools/list itself, as JSON',
  },
};

function allowedLoss(scenario, id) {
  return ALLOWED_LOSSES[scenario]?.[id];
}

function readExpected(file) {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}

// The suite names each scenario's folder `server-<scenario>-<ISO time with : and . as ->`.
const DIR_NAME = /^server-(.+)-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z)$/;

function readResults(dir) {
  const byScenario = new Map();
  if (!fs.existsSync(dir)) return byScenario;
  for (const entry of fs.readdirSync(dir).sort()) {
    const m = DIR_NAME.exec(entry);
    if (!m) continue;
    const file = path.join(dir, entry, 'checks.json');
    let checks = null;
    try {
      checks = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      // A scenario that was killed or crashed leaves no readable checks: it did not pass.
    }
    byScenario.set(m[1], checks);
  }
  return byScenario;
}

function verdict(checks) {
  if (checks === undefined) return { label: 'not run', pass: false };
  if (checks === null) return { label: 'no result', pass: false };
  const count = (s) => checks.filter((c) => c.status === s).length;
  const failures = count('FAILURE');
  const warnings = count('WARNING');
  if (failures > 0) return { label: `FAIL (${failures})`, pass: false };
  return { label: warnings > 0 ? `pass, ${warnings} warn` : 'pass', pass: true };
}

// Checks that succeeded directly but not through Weir, even where the scenario still passes
// (a SHOULD the suite only reports, or a branch it takes only for an SSE answer).
function lostChecks(direct, weir) {
  if (!direct || !weir) return [];
  const ok = (checks) => new Set(checks.filter((c) => c.status === 'SUCCESS').map((c) => c.id));
  const weirOk = ok(weir);
  return [...ok(direct)].filter((id) => !weirOk.has(id));
}

function clip(s) {
  return s.length > DETAIL_LIMIT ? `${s.slice(0, DETAIL_LIMIT)} … (${s.length - DETAIL_LIMIT} more chars)` : s;
}

const expected = readExpected(expectedFile);
const direct = readResults(directDir);
const weir = readResults(weirDir);
const scenarios = [...new Set([...expected, ...direct.keys(), ...weir.keys()])];

if (bridged) {
  const rows = scenarios.map((name) => ({ name, d: verdict(direct.get(name)), w: verdict(weir.get(name)) }));
  const width = Math.max(...rows.map((r) => r.name.length), 'scenario'.length);
  const pad = (s, n) => s + ' '.repeat(Math.max(0, n - s.length));
  console.log(`${pad('scenario', width)}  ${pad('direct', 14)}  ${pad('bridged', 14)}  notes`);
  for (const r of rows) {
    const note = expected.includes(r.name) ? (r.w.pass ? '' : 'BRIDGE REGRESSION') : r.d.pass && !r.w.pass ? 'not carried by the bridge' : '';
    console.log(`${pad(r.name, width)}  ${pad(r.d.label, 14)}  ${pad(r.w.label, 14)}  ${note}`);
  }
  const misses = rows.filter((r) => expected.includes(r.name) && !r.w.pass);
  for (const r of misses) {
    console.log(`\n--- ${r.name}: expected to pass bridged, got ${r.w.label}`);
    for (const c of (weir.get(r.name) ?? []).filter((c) => c.status === 'FAILURE')) {
      console.log(`    check ${c.id}: ${c.errorMessage ?? '(no message)'}`);
    }
  }
  const passing = rows.filter((r) => r.w.pass && r.d.pass).length;
  console.log(`\nbridged: ${passing}/${rows.filter((r) => r.d.pass).length} of the scenarios passing directly pass through Weir (${expected.length} expected)`);
  console.log(`conformance: ${passing} passed, ${misses.length} failed`);
  process.exit(misses.length > 0 ? 1 : 0);
}

const rows = scenarios.map((name) => {
  const d = verdict(direct.get(name));
  const w = verdict(weir.get(name));
  const lostAll = lostChecks(direct.get(name), weir.get(name));
  const lost = lostAll.filter((id) => !allowedLoss(name, id));
  const allowed = lostAll.filter((id) => allowedLoss(name, id));
  const notes = [];
  if (!expected.includes(name)) notes.push('not in expected-scenarios.txt');
  if (expected.includes(name) && !d.pass) notes.push('fixture regression');
  if (d.pass && !w.pass) notes.push('WEIR REGRESSION');
  if (w.pass && lost.length > 0) notes.push(`WEIR LOST CHECKS: ${lost.join(', ')}`);
  for (const id of allowed) notes.push(`${id} only directly (allowed: ${allowedLoss(name, id)})`);
  return { name, d, w, lost, notes };
});

const width = Math.max(...rows.map((r) => r.name.length), 'scenario'.length);
const pad = (s, n) => s + ' '.repeat(Math.max(0, n - s.length));
console.log(`${pad('scenario', width)}  ${pad('direct', 14)}  ${pad('through Weir', 14)}  notes`);
console.log(`${'-'.repeat(width)}  ${'-'.repeat(14)}  ${'-'.repeat(14)}  -----`);
for (const r of rows) {
  console.log(`${pad(r.name, width)}  ${pad(r.d.label, 14)}  ${pad(r.w.label, 14)}  ${r.notes.join('; ')}`);
}

const weirFailures = rows.filter((r) => r.d.pass && !r.w.pass);
for (const r of weirFailures) {
  console.log(`\n--- ${r.name}: fails through Weir`);
  const checks = weir.get(r.name);
  if (!checks) {
    console.log(`    ${r.w.label}: see the suite's output in the Weir run log`);
    continue;
  }
  for (const c of checks.filter((c) => c.status === 'FAILURE')) {
    console.log(`    check ${c.id}: ${c.errorMessage ?? '(no message)'}`);
    if (c.details !== undefined) console.log(`    details: ${clip(JSON.stringify(c.details))}`);
  }
}

const lossFailures = rows.filter((r) => r.w.pass && r.lost.length > 0);
for (const r of lossFailures) {
  const lost = r.lost;
  console.log(`\n--- ${r.name}: passes through Weir, but these checks succeeded only directly`);
  for (const id of lost) {
    const seen = weir.get(r.name).filter((c) => c.id === id);
    if (seen.length === 0) console.log(`    check ${id}: not reached through Weir`);
    for (const c of seen) {
      console.log(`    check ${id}: ${c.status}: ${c.errorMessage ?? c.details?.message ?? '(no message)'}`);
    }
  }
}

const fixtureMisses = rows.filter((r) => expected.includes(r.name) && !r.d.pass);
for (const r of fixtureMisses) {
  console.log(`\n--- ${r.name}: expected to pass directly, got ${r.d.label}`);
  for (const c of (direct.get(r.name) ?? []).filter((c) => c.status === 'FAILURE')) {
    console.log(`    check ${c.id}: ${c.errorMessage ?? '(no message)'}`);
  }
}

// An allowed loss that no longer happens is worth knowing: its entry can go.
for (const [scenario, ids] of Object.entries(ALLOWED_LOSSES)) {
  const ok = new Set((weir.get(scenario) ?? []).filter((c) => c.status === 'SUCCESS').map((c) => c.id));
  for (const id of Object.keys(ids).filter((id) => ok.has(id))) {
    console.log(`\nnote: ${scenario}: ${id} now succeeds through Weir; remove it from ALLOWED_LOSSES in report.mjs`);
  }
}

const directPasses = rows.filter((r) => r.d.pass);
const weirPasses = directPasses.filter((r) => r.w.pass && r.lost.length === 0);
console.log(
  `\ndirect: ${directPasses.length}/${rows.length} scenarios pass (${expected.length} expected);` +
    ` through Weir: ${weirPasses.length}/${directPasses.length} of those`,
);
// A fixture miss counts as failed too, so this line never reads clean on a failing run.
const failed = weirFailures.length + lossFailures.length + fixtureMisses.length;
console.log(`conformance: ${weirPasses.length} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
