// Drives real VS Code (code-server in headless Chromium): open a Python file, type,
// wait for Tandem's ghost text, accept it with Tab, save, then change a setting.
// Writes {ghost, error} as JSON to $RESULT and a screenshot next to it.
const { chromium } = await import(process.env.PLAYWRIGHT);
import { readFileSync, writeFileSync } from 'node:fs';

const env = process.env;
const result = {};
const finish = async (browser, error) => {
  result.error = error ? String(error.stack || error) : null;
  writeFileSync(env.RESULT, JSON.stringify(result));
  if (browser) await browser.close();
};

let page;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],  // playwright gives it a fresh profile
});
try {
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${env.URL}/?folder=${encodeURIComponent(env.WORKSPACE)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 120000 });
  await page.waitForTimeout(2000); // the workbench restores its layout
  await page.keyboard.press('Control+P');
  await page.waitForSelector('.quick-input-widget input', { timeout: 30000 });
  await page.keyboard.type(env.FILE_NAME);
  await page.waitForTimeout(1000);
  await page.keyboard.press('Enter');
  await page.waitForSelector('.monaco-editor .view-lines', { timeout: 30000 });
  await page.click('.monaco-editor .view-lines');
  await page.keyboard.press('Control+G');
  await page.keyboard.type(env.LINE);
  await page.keyboard.press('Enter');
  await page.keyboard.press('End');
  await page.keyboard.press('Enter');
  await page.keyboard.type(env.TYPE, { delay: 80 });
  await page.waitForTimeout(300);
  await page.keyboard.press('Alt+Backslash'); // editor.action.inlineSuggest.trigger
  await page.waitForSelector('.ghost-text-decoration', { timeout: Number(env.GHOST_TIMEOUT_MS || 120000) });
  await page.waitForTimeout(500); // the whole suggestion rendered
  result.ghost = await page.$$eval('.ghost-text-decoration, .ghost-text-decoration-preview',
    (nodes) => nodes.map((n) => n.textContent).join('\n'));
  await page.screenshot({ path: env.SCREENSHOT });
  await page.keyboard.press('Tab');
  await page.waitForTimeout(500);
  await page.keyboard.press('Control+S');
  await page.waitForTimeout(1500);
  // A setting changed in the user settings file reaches the running server.
  const settings = JSON.parse(readFileSync(env.SETTINGS, 'utf8'));
  settings['tandem.maxNewTokens'] = 24;
  writeFileSync(env.SETTINGS, JSON.stringify(settings, null, 2));
  await page.waitForTimeout(4000);
  await finish(browser, null);
} catch (error) {
  if (page) await page.screenshot({ path: env.SCREENSHOT }).catch(() => undefined);
  await finish(browser, error);
}
