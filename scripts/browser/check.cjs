#!/usr/bin/env node
// Opens an HTML report in headless Chromium through the DevTools protocol
// (chrome-remote-interface) and prints what a person would see as JSON:
// console errors, exceptions, network requests, the sections with their
// SVG counts, and where the screenshot went. Used by tests/cli/browser.rs.
//
//   node scripts/browser/check.cjs CHROMIUM REPORT.html SCREENSHOT.png
//
// chrome-remote-interface is found through NODE_PATH (.ci/run installs it
// under ~/.cache/journeymap-browser/node_modules).
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const CDP = require('chrome-remote-interface');

const [chromium, report, shot] = process.argv.slice(2);
if (!chromium || !report || !shot) {
  console.error('usage: check.cjs CHROMIUM REPORT.html SCREENSHOT.png');
  process.exit(2);
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'jm-chromium-'));
const browser = spawn(chromium, [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  // The browser's own traffic (updates, safe browsing, metrics) is off, so
  // every request seen below comes from the page.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-default-apps',
  '--disable-sync',
  '--metrics-recording-only',
  '--no-first-run',
  '--no-default-browser-check',
  '--remote-debugging-port=0',
  `--user-data-dir=${profile}`,
  '--window-size=1200,900',
  'about:blank',
], { stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
browser.stderr.on('data', (d) => { stderr += d; });

function fail(msg) {
  console.error(msg);
  try { browser.kill('SIGKILL'); } catch (_) { /* gone */ }
  fs.rmSync(profile, { recursive: true, force: true });
  process.exit(1);
}

const deadline = setTimeout(() => fail('timed out after 60 s\n' + stderr.slice(-2000)), 60000);

async function port() {
  const file = path.join(profile, 'DevToolsActivePort');
  for (let i = 0; i < 300; i++) {
    if (fs.existsSync(file)) {
      const first = fs.readFileSync(file, 'utf8').split('\n')[0];
      if (first) return Number(first);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('Chromium did not open its DevTools port\n' + stderr.slice(-2000));
}

(async () => {
  const client = await CDP({ port: await port() });
  const { Page, Runtime, Network, Log } = client;
  const url = 'file://' + path.resolve(report);
  const requests = [];
  const console_errors = [];
  Network.requestWillBeSent((e) => {
    if (e.request.url !== url) requests.push(e.request.url);
  });
  Runtime.consoleAPICalled((e) => {
    if (e.type === 'error' || e.type === 'assert') {
      console_errors.push(e.args.map((a) => a.value ?? a.description ?? '').join(' '));
    }
  });
  Runtime.exceptionThrown((e) => console_errors.push('exception: ' + e.exceptionDetails.text));
  Log.entryAdded((e) => {
    if (e.entry.level === 'error') console_errors.push(`${e.entry.source}: ${e.entry.text}`);
  });
  await Promise.all([Page.enable(), Runtime.enable(), Network.enable(), Log.enable()]);
  const loaded = Page.loadEventFired();
  await Page.navigate({ url });
  await loaded;
  // Let late work (a script's timers, CSP reports) happen before counting.
  await new Promise((r) => setTimeout(r, 300));
  const { result } = await Runtime.evaluate({
    returnByValue: true,
    expression: `(() => {
      const sections = [...document.querySelectorAll('section')].map((s) => ({
        id: s.id,
        title: (s.querySelector('h2') || {}).textContent || '',
        svgs: s.querySelectorAll('svg').length,
        tables: s.querySelectorAll('table').length,
      }));
      // Sorting works: a click on a header reorders its table's rows.
      let sorted = null;
      const th = document.querySelector('section table th.r');
      if (th) {
        const rows = () => [...th.closest('table').tBodies[0].rows].map((r) => r.textContent).join('|');
        const before = rows();
        th.click(); th.click();
        sorted = { changed_or_kept: typeof rows() === 'string', same_set: rows().split('|').sort().join('|') === before.split('|').sort().join('|') };
      }
      return {
        title: document.title,
        sections,
        svgs: document.querySelectorAll('svg').length,
        scripts: document.querySelectorAll('script').length,
        text_length: document.body.innerText.length,
        sorted,
      };
    })()`,
  });
  const { data } = await Page.captureScreenshot({ format: 'png', captureBeyondViewport: true });
  fs.writeFileSync(shot, Buffer.from(data, 'base64'));
  // Closing through the protocol lets the browser and its helper processes
  // finish writing the profile, which can then be removed.
  const exited = new Promise((r) => browser.once('exit', r));
  await client.Browser.close().catch(() => browser.kill('SIGKILL'));
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  clearTimeout(deadline);
  try {
    fs.rmSync(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  } catch (e) {
    console.error(`note: could not remove ${profile}: ${e.message}`);
  }
  // The protocol socket died with the browser; exit without waiting on it.
  process.stdout.write(JSON.stringify({ ...result.value, requests, console_errors, screenshot: shot }) + '\n', () => process.exit(0));
})().catch((e) => fail(String(e && e.stack || e)));
