/**
 * Driving the VS Code workbench in Debian's chromium through playwright-core
 * (no downloaded browsers): open a folder, open a file, run palette
 * commands, read the Problems panel and notifications, take screenshots.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export interface Workbench {
    page: Page;
    close(): Promise<void>;
}

export async function openWorkbench(url: string, folder: string, profileDir: string): Promise<Workbench> {
    mkdirSync(profileDir, { recursive: true });
    const context: BrowserContext = await chromium.launchPersistentContext(profileDir, {
        executablePath: '/usr/bin/chromium',
        headless: true,
        viewport: { width: 1400, height: 900 },
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    // Everything but our own code-server is cut off, so no test depends on the internet.
    await context.route('**/*', (route) => {
        const u = new URL(route.request().url());
        return u.hostname === '127.0.0.1' || u.protocol === 'data:' || u.protocol === 'blob:' ? route.continue() : route.abort();
    });
    const page = context.pages()[0] ?? await context.newPage();
    await page.goto(`${url}/?folder=${encodeURIComponent(folder)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    return { page, close: () => context.close() };
}

export async function openFile(page: Page, name: string): Promise<void> {
    // Quick Open works whatever state the explorer is in.
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').waitFor();
    await page.keyboard.type(name);
    await page.locator(`.quick-input-list .monaco-list-row:has-text("${name}")`).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator(`.tab.active:has-text("${name}")`).waitFor();
    await page.locator('.monaco-editor .view-lines').first().waitFor();
}

/** Runs a palette command by its title, e.g. "vtopo: Deploy". */
export async function runCommand(page: Page, title: string): Promise<void> {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(`>${title}`);
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    await row.waitFor({ timeout: 15_000 });
    await page.keyboard.press('Enter');
}

/** Moves the cursor to the end of a 1-based line of the active editor. */
export async function gotoLineEnd(page: Page, line: number): Promise<void> {
    await page.keyboard.press('Control+G');
    await page.locator('.quick-input-widget input').waitFor();
    await page.keyboard.type(String(line));
    await page.keyboard.press('Enter');
    await page.keyboard.press('End');
}

export async function focusProblems(page: Page): Promise<void> {
    await runCommand(page, 'View: Focus Problems');
    await page.locator('.markers-panel').waitFor();
}

/** Text of every Problems row (message, source and position). */
export async function problems(page: Page): Promise<string[]> {
    return page.locator('.markers-panel .monaco-list-row').allInnerTexts();
}

export async function waitForProblem(page: Page, pred: (rows: string[]) => boolean, timeoutMs: number, what: string): Promise<string[]> {
    const end = Date.now() + timeoutMs;
    let rows: string[] = [];
    while (Date.now() < end) {
        rows = await problems(page);
        if (pred(rows)) return rows;
        await page.waitForTimeout(250);
    }
    throw new Error(`timed out waiting for ${what}; Problems panel shows:\n${rows.join('\n---\n')}`);
}

export async function notifications(page: Page): Promise<string[]> {
    return page.locator('.notification-toast').allInnerTexts();
}

export async function screenshot(page: Page, dir: string, name: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    // Toasts slide in; a settled frame makes the artifact readable.
    await page.waitForTimeout(400);
    await page.screenshot({ path: path.join(dir, `${name}.png`) });
}

/** The rows of the "vtopo" view in the explorer, expanded, as "label description" strings. */
export async function vtopoTreeRows(page: Page): Promise<string[]> {
    const header = page.locator('.pane-header', { hasText: /^vtopo/i }).first();
    await header.waitFor({ timeout: 30_000 });
    if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
    // The tree only renders rows that fit: collapse the explorer's other sections to give it the height.
    const others = page.locator('.explorer-viewlet .pane-header[aria-expanded="true"]', { hasNotText: /^vtopo/i });
    for (let i = await others.count(); i > 0; i--) await others.first().click();
    const pane = page.locator('.pane', { has: header });
    return pane.locator('.monaco-list-row').evaluateAll((rows) => rows.map((r) => {
        const name = r.querySelector('.label-name')?.textContent ?? '';
        const desc = r.querySelector('.label-description')?.textContent ?? '';
        return `${name} ${desc}`.trim();
    }));
}

export async function waitForTree(page: Page, pred: (rows: string[]) => boolean, timeoutMs: number, what: string): Promise<string[]> {
    const end = Date.now() + timeoutMs;
    let rows: string[] = [];
    while (Date.now() < end) {
        rows = await vtopoTreeRows(page);
        if (pred(rows)) return rows;
        await page.waitForTimeout(300);
    }
    throw new Error(`timed out waiting for ${what}; the vtopo tree shows:\n${rows.join('\n')}`);
}

/** The graph webview's inner document (VS Code nests the page in two iframes). */
export function graphFrame(page: Page) {
    return page.frameLocator('iframe.webview.ready').last().frameLocator('iframe#active-frame');
}

/** 1-based cursor line of the active editor, from the status bar ("Ln 12, Col 3"). */
export async function cursorLine(page: Page): Promise<number> {
    const t = await page.locator('.statusbar-item[id="status.editor.selection"]').innerText();
    const m = /Ln (\d+)/.exec(t);
    return m ? Number(m[1]) : -1;
}
