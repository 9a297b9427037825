// Shared helpers for the browser tests: start/stop the real ptyhub binary,
// launch Debian's Chromium through playwright-core, and wait for conditions
// with a deadline (no fixed sleeps).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = resolve(WEB_DIR, '..');
export const ARTIFACTS_DIR = join(REPO_DIR, 'tests', 'artifacts');
export const PTYHUB_BIN = resolve(WEB_DIR, process.env.PTYHUB_BIN || '../target/debug/ptyhub');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Throws a clear message when the binary or the browser is missing. */
export function checkPrerequisites() {
  try {
    accessSync(PTYHUB_BIN, constants.X_OK);
  } catch {
    throw new Error(
      `ptyhub binary not found or not executable at ${PTYHUB_BIN}: build it with \`cargo build\` at the repo root, or set PTYHUB_BIN to its path`,
    );
  }
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH)`);
  }
}

// ---------------------------------------------------------------------------
// waiting

/**
 * Polls `predicate` (sync or async) until it returns a truthy value, which is
 * returned; throws after `timeout` ms with `message` and the last value or
 * error seen.
 */
export async function waitFor(predicate, { timeout = 10_000, interval = 50, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  let lastErr;
  for (;;) {
    try {
      last = await predicate();
      lastErr = undefined;
      if (last) return last;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastErr ? `last error: ${lastErr.message ?? lastErr}` : `last value: ${JSON.stringify(last)?.slice(0, 500)}`;
      throw new Error(`timed out after ${timeout} ms waiting for ${message} (${detail})`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * Checks `check` (sync or async; it throws, e.g. an assertion, when the
 * condition is broken) every `interval` ms for `period` ms: an absence
 * proven by a poll that fails at the first breach, not by a sleep.
 */
export async function holdsFor(check, period, { interval = 50 } = {}) {
  const deadline = Date.now() + period;
  while (Date.now() < deadline) {
    await check();
    await new Promise((r) => setTimeout(r, interval));
  }
  await check();
}

/** Rejects when `promise` does not settle within `ms`. */
export async function withDeadline(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------
// the server

/**
 * Starts `PTYHUB_BIN serve --bind 127.0.0.1:0` with a fresh random token and
 * resolves once it printed its URL. `config` (a TOML string) is written to a
 * temporary file and passed as --config. `nice` runs it (and so its
 * sessions) at that lower CPU priority. `port` and `token` fix what is
 * otherwise chosen (nodes of one cluster share a token and advertise their
 * port in their config).
 */
export async function startServer({ config, env = {}, nice, port = 0, token = randomBytes(24).toString('hex') } = {}) {
  checkPrerequisites();
  const tmp = mkdtempSync(join(tmpdir(), 'ptyhub-web-test-'));
  const runtime = join(tmp, 'run');
  mkdirSync(runtime, { mode: 0o700 });
  const args = ['serve', '--bind', `127.0.0.1:${port}`];
  if (config !== undefined) {
    const path = join(tmp, 'config.toml');
    writeFileSync(path, config);
    args.push('--config', path);
  }
  // nice execs the binary: the pid, and the signals sent to it, stay ptyhub's.
  const [file, argv] = nice ? ['nice', ['-n', String(nice), PTYHUB_BIN, ...args]] : [PTYHUB_BIN, args];
  const proc = spawn(file, argv, {
    cwd: tmp,
    env: {
      ...process.env,
      PTYHUB_TOKEN: token,
      XDG_RUNTIME_DIR: runtime, // keep the runtime file away from a real server's
      SHELL: '/bin/bash',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-20_000);
  });
  const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));

  const base = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`ptyhub did not print its URL within 15 s.\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 15_000);
    proc.stdout.on('data', (d) => {
      stdout = (stdout + d).slice(-20_000);
      for (const line of stdout.split('\n')) {
        const m = /http:\/\/127\.0\.0\.1:\d+/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolveUrl(m[0]);
          return;
        }
      }
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`ptyhub exited (code ${code}, signal ${signal}) before printing its URL.\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
    proc.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${PTYHUB_BIN}: ${err.message}`));
    });
  });

  const server = {
    base,
    token,
    tokenUrl: `${base}/?token=${token}`,
    port: Number(new URL(base).port),
    proc,
    get stderr() {
      return stderr;
    },

    /** Calls the HTTP API with the token; returns the parsed JSON (or null). */
    async api(method, path, body) {
      const resp = await fetch(`${base}${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await resp.text();
      let data = null;
      try {
        data = text ? JSON.parse(text) : null;
      } catch {
        data = text;
      }
      if (!resp.ok) {
        const err = new Error(`${method} ${path} → ${resp.status}: ${text.slice(0, 300)}`);
        err.status = resp.status;
        err.body = data;
        throw err;
      }
      return data;
    },

    async createSession(req = {}) {
      return server.api('POST', '/api/sessions', { provider: 'shell', ...req });
    },

    async session(id) {
      return server.api('GET', `/api/sessions/${id}`);
    },

    async sessions() {
      return (await server.api('GET', '/api/sessions')).sessions;
    },

    /** Deletes every session still running, then stops the server. */
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        try {
          const list = await withDeadline(server.sessions(), 3000, 'listing sessions');
          await Promise.allSettled(
            list
              .filter((s) => !['exited', 'terminated', 'error'].includes(s.status))
              .map((s) => withDeadline(server.api('DELETE', `/api/sessions/${s.id}`), 3000, 'DELETE')),
          );
        } catch {
          /* the server may already be in trouble: kill it anyway */
        }
        proc.kill('SIGTERM');
        const killer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killer);
      }
      rmSync(tmp, { recursive: true, force: true });
    },
  };
  return server;
}

// ---------------------------------------------------------------------------
// the browser

let playwright;

/**
 * The test build of the page's script (`vite build --mode test`, which `npm
 * test` runs first): the same source as dist/ plus the `window.__ptyhub`
 * hook, which the production bundle leaves out.
 */
export const TEST_BUNDLE = join(WEB_DIR, 'tests', '.build', 'assets', 'app.js');

let testBundle;

/**
 * Chromium; every context it makes gets the test build of /assets/app.js in
 * place of the server's (fetched from the server all the same, so that its
 * status and headers are the real ones).
 */
export async function launchBrowser({ args = [], ...options } = {}) {
  checkPrerequisites();
  try {
    testBundle ??= readFileSync(TEST_BUNDLE);
  } catch {
    throw new Error(`the test build is missing at ${TEST_BUNDLE}: run the tests with \`npm test\`, which builds it`);
  }
  playwright ??= await import('playwright-core');
  const browser = await playwright.chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...args], ...options });
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (contextOptions) => {
    const context = await newContext(contextOptions);
    await context.route(/\/assets\/app\.js$/, async (route) => {
      const response = await route.fetch();
      if (!response.ok()) return route.fulfill({ response });
      return route.fulfill({ response, body: testBundle });
    });
    return context;
  };
  return browser;
}

/**
 * A browser context signed in to `server` (its cookie set by visiting the
 * token URL), and its first page on the dashboard. The context records page
 * errors, CSP violations and any request that leaves the server's origin;
 * `assertClean(context)` checks there were none.
 */
export async function signedInPage(browser, server, contextOptions = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...contextOptions });
  watchContext(context, server);
  const page = await context.newPage();
  await page.goto(server.tokenUrl);
  await waitForDashboard(page);
  return { context, page };
}

export function watchContext(context, server) {
  const problems = [];
  context.__problems = problems;
  context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window.__cspViolations ??= []).push(`${e.violatedDirective} ${e.blockedURI}`);
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const watchPage = (page) => {
    page.on('pageerror', (err) => problems.push(`page error on ${page.url()}: ${err}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /CSP violation|Content Security Policy/i.test(msg.text())) problems.push(`CSP: ${msg.text()}`);
    });
  };
  context.pages().forEach(watchPage);
  context.on('page', watchPage);
  context.on('request', (req) => {
    const u = req.url();
    if (server && !u.startsWith(`${server.base}/`) && !u.startsWith('data:') && !u.startsWith('blob:')) problems.push(`external request: ${u}`);
  });
  return problems;
}

/** Fails when a watched context saw page errors, CSP violations or external requests. */
export function assertClean(context) {
  const problems = context.__problems ?? [];
  if (problems.length) throw new Error(`the page was not clean:\n${problems.join('\n')}`);
}

/** Opens the terminal view of session `id` in a new page of `context`. */
export async function openTerminal(context, server, id, query = '') {
  const page = await context.newPage();
  await page.goto(`${server.base}/s/${id}${query}`);
  await waitForTerminal(page);
  return page;
}

export async function waitForDashboard(page, timeout = 10_000) {
  await waitFor(() => page.evaluate(() => window.__ptyhub?.view === 'dashboard' && window.__ptyhub.loaded() && window.__ptyhub.live() === 'live'), {
    timeout,
    message: 'the dashboard to load and go live',
  });
}

/** Waits until the terminal view has its hello (connected and writable or not). */
export async function waitForTerminal(page, timeout = 10_000) {
  await waitFor(() => page.evaluate(() => window.__ptyhub?.view === 'terminal' && window.__ptyhub.state().connected), {
    timeout,
    message: 'the terminal to connect',
  });
}

/** The whole xterm.js buffer (scrollback and screen) as text. */
export function termText(page) {
  return page.evaluate(() => window.__ptyhub.text());
}

/** The last `n` lines of the buffer (cheap enough to poll during a flood). */
export function termTail(page, n = 40) {
  return page.evaluate((n) => window.__ptyhub.tail(n), n);
}

export function termState(page) {
  return page.evaluate(() => window.__ptyhub.state());
}

/** Waits until the xterm.js buffer contains `needle` (string or RegExp). */
export async function waitForText(page, needle, { timeout = 10_000 } = {}) {
  let text = '';
  try {
    return await waitFor(
      async () => {
        text = await termText(page);
        return typeof needle === 'string' ? text.includes(needle) : needle.test(text);
      },
      { timeout, message: `terminal text ${needle}` },
    );
  } catch (err) {
    err.message += `\n--- terminal buffer (tail) ---\n${text.split('\n').filter(Boolean).slice(-20).join('\n')}`;
    throw err;
  }
}

/** Focuses the terminal and types `text` (use "\n" for Enter). */
export async function typeInTerminal(page, text) {
  await page.locator('#terminal .xterm').click();
  for (const part of text.split(/(\n)/)) {
    if (part === '\n') await page.keyboard.press('Enter');
    else if (part) await page.keyboard.type(part);
  }
}

/** Waits for the bash prompt to be ready to take a command. */
export async function waitForPrompt(page, timeout = 10_000) {
  await waitFor(async () => /[$#]\s*$/m.test(await termText(page)), { timeout, message: 'a shell prompt' });
}

/**
 * The command names of the live children of process `pid`, from /proc
 * (Linux): what a shell in a session is running right now.
 */
export function childCommands(pid) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid ...; comm may hold spaces and parentheses.
    const close = stat.lastIndexOf(')');
    const [state, ppid] = stat.slice(close + 2).split(' ');
    if (Number(ppid) === pid && state !== 'Z') out.push(stat.slice(stat.indexOf('(') + 1, close));
  }
  return out;
}

export function artifactPath(name) {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return join(ARTIFACTS_DIR, name);
}

/**
 * Runs `fn(ctx)` with a fresh server and browser, always cleaning up
 * (sessions deleted, server SIGTERM then SIGKILL, browser closed).
 */
export async function withServerAndBrowser(options, fn) {
  const { browser: browserOptions, ...serverOptions } = options ?? {};
  const server = await startServer(serverOptions);
  let browser;
  try {
    browser = await launchBrowser(browserOptions);
    return await fn({ server, browser });
  } finally {
    if (browser) await browser.close().catch(() => {});
    await server.stop();
  }
}
