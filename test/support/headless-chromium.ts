import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const ROOT = resolve(__dirname, '..', '..');
const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/**
 * A fresh profile each launch (Playwright's default context), no GPU, no QUIC, and none of the
 * browser's own traffic to the internet: only what the page asks for reaches 127.0.0.1.
 */
export const CHROMIUM_ARGUMENTS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Debian's Chromium, or the one CHROMIUM_PATH names. */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH || DEBIAN_CHROMIUM;
}

/**
 * Starts headless Chromium through playwright-core, which downloads no browser. A missing browser
 * fails the suite (it is not skipped): a CI without it would otherwise pass untested.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium is missing at ${executablePath}: install Debian's chromium ` +
        '(apt-get install --no-install-recommends chromium) or set CHROMIUM_PATH to a Chromium binary',
    );
  }
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGUMENTS });
}

/** Where to write the console's screenshot (CONSOLE_SCREENSHOT, relative to the repository), if asked. */
export function consoleScreenshotPath(): string | undefined {
  const path = process.env.CONSOLE_SCREENSHOT;
  if (!path) {
    return undefined;
  }
  return isAbsolute(path) ? path : join(ROOT, path);
}
