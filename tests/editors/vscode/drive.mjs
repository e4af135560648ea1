// Drives real VS Code (code-server in headless Chromium): open a Python file, type,
// wait for Tandem's ghost text, accept it with Tab, save, then change a setting
// and wait until the server's log shows it arrived.
// Writes {ghost, settingReached, error} as JSON to $RESULT, and a screenshot. MODE=notification
// instead waits for a message containing $EXPECT (a misconfigured server); MODE=ready stops
// once the server has started and says it is ready.
const { chromium } = await import(process.env.PLAYWRIGHT);
import { readFileSync, writeFileSync } from 'node:fs';

const env = process.env;
const result = {};
const finish = async (browser, error) => {
  result.error = error ? String(error.stack || error) : null;
  writeFileSync(env.RESULT, JSON.stringify(result));
  if (browser) await browser.close();
};

/** Quick Open the file and wait for its own editor tab. The file search may still be
 * indexing when the name is typed (Enter on an empty list opens nothing), and the Chat
 * view's input is a Monaco editor too, so neither a fixed pause nor `.monaco-editor`
 * proves the file is open: wait for the result row, then for the active tab, and retry. */
async function openFile(page, name) {
  const activeTab = page.locator('.tabs-container .tab.active', { hasText: name });
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('Control+P');
    await page.waitForSelector('.quick-input-widget input', { timeout: 30000 });
    await page.keyboard.type(name);
    try {
      await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ timeout: 30000 });
      await page.keyboard.press('Enter');
      await activeTab.first().waitFor({ timeout: 15000 });
      break;
    } catch (error) {
      if (attempt >= 3) throw error;
      await page.keyboard.press('Escape');
    }
  }
  await page.locator('.part.editor .monaco-editor .view-lines').first().waitFor({ timeout: 30000 });
}

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
  await openFile(page, env.FILE_NAME);
  if (env.MODE === 'notification') {
    // A misconfigured server: wait for the message about it, and read the status bar.
    const toast = page.locator('.notification-list-item-message', { hasText: env.EXPECT }).first();
    await toast.waitFor({ timeout: 60000 });
    await page.waitForTimeout(Number(env.SETTLE_MS || 5000)); // any restart loop would show now
    result.notifications = await page.$$eval('.notification-list-item-message', (n) => n.map((e) => e.textContent));
    result.status = await page.locator('.statusbar-item', { hasText: 'Tandem' }).first().textContent();
    await page.screenshot({ path: env.SCREENSHOT });
    await finish(browser, null);
    process.exit(0);
  }
  // The extension's status-bar item says when the server has its models.
  await page.getByText('Tandem: ready').first().waitFor({ timeout: 120000 });
  if (env.MODE === 'ready') {
    await page.screenshot({ path: env.SCREENSHOT });
    await finish(browser, null);
    process.exit(0);
  }
  await page.click('.part.editor .monaco-editor .view-lines');
  await page.keyboard.press('Control+G');
  await page.waitForSelector('.quick-input-widget input', { timeout: 30000 });
  await page.keyboard.type(env.LINE);
  await page.waitForTimeout(300);
  await page.keyboard.press('Enter');
  await page.waitForSelector('.quick-input-widget', { state: 'hidden', timeout: 30000 });
  await page.waitForTimeout(300); // focus back in the editor
  await page.keyboard.press('End');
  await page.keyboard.press('Enter');
  await page.waitForTimeout(300);
  await page.keyboard.type(env.TYPE, { delay: 80 });
  await page.waitForSelector('.ghost-text-decoration', { timeout: Number(env.GHOST_TIMEOUT_MS || 120000) });
  await page.waitForTimeout(500); // the whole suggestion rendered
  // VS Code splits one line of ghost text into several decorations (a string literal is
  // its own span): join those of one view line, and the lines with newlines.
  result.ghost = await page.$$eval('.ghost-text-decoration, .ghost-text-decoration-preview', (nodes) => {
    const lines = [];
    let previous = null;
    for (const node of nodes) {
      const line = node.closest('.view-line') || node;
      if (line === previous) lines[lines.length - 1] += node.textContent;
      else lines.push(node.textContent);
      previous = line;
    }
    return lines.join('\n');
  });
  await page.screenshot({ path: env.SCREENSHOT });
  await page.keyboard.press('Tab');
  await page.waitForTimeout(500);
  await page.keyboard.press('Control+S');
  await page.waitForTimeout(1500);
  if (!env.SERVER_LOG) { // ghost text, Tab and save only
    await finish(browser, null);
    process.exit(0);
  }
  // A setting changed in the Settings editor reaches the running server: keep the page
  // open until the server's log says it arrived.
  await page.keyboard.press('Control+Comma');
  await page.waitForSelector('.settings-editor .suggest-input-container', { timeout: 30000 });
  await page.waitForTimeout(1000);
  await page.keyboard.type('tandem.maxNewTokens');
  await page.locator('.settings-count-widget', { hasText: '1 Setting Found' }).waitFor({ timeout: 30000 });
  await page.getByText('Tandem: Max New Tokens').first().waitFor({ timeout: 30000 });
  const input = page.locator('.setting-item-number input').filter({ visible: true }).first();
  await input.waitFor({ timeout: 30000 });
  await input.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.type('24');
  await page.keyboard.press('Tab');
  result.settingReached = false;
  for (let waited = 0; waited < 30000 && !result.settingReached; waited += 500) {
    await page.waitForTimeout(500);
    result.settingReached = readFileSync(env.SERVER_LOG, 'utf8').includes("settings changed: {'maxNewTokens': 24}");
  }
  await finish(browser, null);
} catch (error) {
  if (page) await page.screenshot({ path: env.SCREENSHOT }).catch(() => undefined);
  await finish(browser, error);
}
