import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { createAdminClient, type JobSummary, unwrap } from '@app/client';
import { startFakeUpstream } from './fake-upstream/server';
import { MASTER_KEY, type RunningApp, startAdmin, startGateway, uid } from './helpers/apps';
import { call, eventually } from './helpers/http';

// The operator console (apps/console, served by admin-api at /ui) in a real browser: Debian's
// chromium driven by playwright-core. CONSOLE_SCREENSHOTS=1 also writes docs/console/*.png.
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];
const SHOTS = process.env.CONSOLE_SCREENSHOTS ? join(__dirname, '../docs/console') : null;
const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

describe('operator console (/ui) in chromium', () => {
  let admin: RunningApp;
  let gateway: RunningApp;
  let fake: Awaited<ReturnType<typeof startFakeUpstream>>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  const org = uid('org');
  const team = uid('team');
  const model = uid('model');
  const group = uid('group');
  const providerSecret = `sk-upstream-${uid('secret')}`;

  const shot = async (name: string, target: Page = page) => {
    if (!SHOTS) return;
    mkdirSync(SHOTS, { recursive: true });
    await target.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    [admin, gateway, fake] = await Promise.all([startAdmin(), startGateway(), startFakeUpstream()]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    context = await browser.newContext({ viewport: LAPTOP });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: admin.url });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);

    // The catalog an operator set up before (the console shows it; the API creates it).
    const api = createAdminClient({ baseUrl: admin.url, adminKey: MASTER_KEY });
    await unwrap(
      api.POST('/api/provider-credentials/create', {
        body: {
          provider: 'openai-compatible',
          credential_name: uid('fake-upstream'),
          api_key: providerSecret,
          api_base: `${fake.url}/v1`,
        },
      }),
    );
    await unwrap(
      api.POST('/api/models/create', {
        body: {
          model_name: model,
          provider: 'openai-compatible',
          provider_model: 'fake-1',
          api_base: `${fake.url}/v1`,
          input_price_per_million: 2,
          output_price_per_million: 8,
        },
      }),
    );
    await unwrap(
      api.POST('/api/model-groups/create', { body: { group_name: group, models: [model] } }),
    );
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([gateway?.close(), admin?.close(), fake?.close()]);
  });

  it("runs an operator's day: org, team, key shown once, credits, a call in the usage, revoke", async () => {
    // Deep links load the app (SPA fallback); without a key the sign-in form shows.
    await page.goto(`${admin.url}/ui/audit`);
    const keyInput = page.getByLabel('Master key');
    await keyInput.fill('sk-admin-wrong-' + 'y'.repeat(32));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Invalid admin API key' }).waitFor();
    await shot('sign-in');
    await keyInput.fill(MASTER_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();

    // An organization, then the same id again: the API's detail is shown.
    await page.getByRole('link', { name: 'Teams' }).click();
    const orgForm = page.getByRole('form', { name: 'New organization' });
    await orgForm.getByLabel('Organization id').fill(org);
    await orgForm.getByLabel('Name').fill('Console Org');
    await orgForm.getByRole('button', { name: 'Create organization' }).click();
    await page.getByRole('list', { name: 'Organizations' }).getByText(org).waitFor();
    await orgForm.getByLabel('Organization id').fill(org);
    await orgForm.getByLabel('Name').fill('Again');
    await orgForm.getByRole('button', { name: 'Create organization' }).click();
    await orgForm
      .getByRole('alert')
      .filter({ hasText: `Organization '${org}' already exists` })
      .waitFor();

    // A team with the group: its first key is shown once.
    const teamForm = page.getByRole('form', { name: 'New team' });
    await teamForm.getByLabel('Organization').selectOption(org);
    await teamForm.getByLabel('Team id').fill(team);
    await teamForm.getByLabel('Alias').fill('Console Team');
    await teamForm.getByLabel(group).check();
    await teamForm.getByRole('button', { name: 'Create team' }).click();
    const firstKey = await page.getByTestId('new-key').textContent();
    expect(firstKey).toMatch(/^sk-/);
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('searchbox', { name: 'Search' }).fill(team);
    await page
      .getByRole('table', { name: 'Teams' })
      .getByRole('link', { name: 'Console Team' })
      .click();
    await page.getByRole('heading', { name: /Console Team/ }).waitFor();

    // A new key: shown once with a copy button, gone after a reload.
    const keyForm = page.getByRole('form', { name: 'New key' });
    await keyForm.getByLabel('Key alias').fill('console-key');
    await keyForm.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.getByTestId('new-key').textContent()) ?? '';
    expect(secret).toMatch(/^sk-[A-Za-z0-9]{32,}$/);
    await page.getByRole('button', { name: 'Copy key' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(secret);
    await shot('team-new-key');
    await page.reload();
    await page.getByRole('table', { name: 'Keys' }).getByText('console-key').waitFor();
    expect(await page.getByTestId('new-key').count()).toBe(0);
    expect(await page.content()).not.toContain(secret);

    // Rotating the team's first key shows its successor once; the settings forms save.
    await page.getByRole('button', { name: 'Rotate key default' }).click();
    const rotated = (await page.getByTestId('new-key').textContent()) ?? '';
    expect(rotated).toMatch(/^sk-/);
    expect(rotated).not.toBe(firstKey);
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByLabel('Refill automatically').check();
    for (const [button, done] of [
      ['Save model groups', 'Saved.'],
      ['Save budget mode', 'Saved.'],
      ['Save auto-refill', 'On: 100 credits monthly'],
    ]) {
      const section = page
        .getByRole('region')
        .filter({ has: page.getByRole('button', { name: button }) });
      await section.getByRole('button', { name: button }).click();
      await section.getByRole('status').filter({ hasText: done }).waitFor();
    }

    // Credits: the balance shows them.
    const creditsForm = page.getByRole('form', { name: 'Add credits' });
    await creditsForm.getByLabel('Credits to add').fill('5');
    await creditsForm.getByLabel('Reason').fill('console test');
    await creditsForm.getByRole('button', { name: 'Add credits' }).click();
    await page.getByTestId('credits-remaining').filter({ hasText: /^5$/ }).waitFor();
    await page.getByRole('table', { name: 'Ledger' }).getByText('console test').waitFor();

    // The team calls the gateway with the key (through the fake upstream).
    const answer = await call(gateway.url, 'POST', '/v1/chat/completions', {
      bearer: secret,
      body: { model: group, messages: [{ role: 'user', content: 'hello from the console test' }] },
    });
    expect(answer.status).toBe(200);
    expect(fake.requests.length).toBeGreaterThan(0);
    // The call is recorded after the answer: wait for that fact on the API, then look.
    const api = createAdminClient({ baseUrl: admin.url, adminKey: MASTER_KEY });
    await eventually(async () => {
      const jobs = await unwrap<{ data: JobSummary[] }>(
        api.GET('/api/jobs/teams/{team_id}', { params: { path: { team_id: team } } }),
      );
      return jobs.data.some((j) => j.status === 'completed' && j.costs.total_calls === 1);
    }, 10_000);

    // Usage: the call in the per-model chart and table, the job with its call.
    await page.getByRole('link', { name: 'Usage' }).click();
    await page
      .getByRole('search', { name: 'Usage filters' })
      .getByLabel('Organization')
      .selectOption(org);
    const perModel = page.getByRole('region', { name: 'Per model' });
    await perModel.getByRole('img', { name: 'Calls and cost per model: 1 model' }).waitFor();
    expect(await perModel.locator('.recharts-bar-rectangle').count()).toBeGreaterThan(0);
    await perModel.getByText('Show the numbers').click();
    const modelRow = perModel.getByRole('row', { name: new RegExp(model) });
    expect(await modelRow.getByRole('cell').first().textContent()).toBe('1'); // calls
    const jobs = page.getByRole('table', { name: `Jobs of ${team}` });
    await jobs.getByRole('button', { name: 'chat.completions' }).click();
    const calls = page.getByRole('table', { name: /^Calls of job / });
    await calls.getByRole('cell', { name: model }).waitFor();
    await calls.getByText('success').waitFor();
    await shot('usage');

    // Back on the team: one credit used by the job.
    await page.goto(`${admin.url}/ui/teams/${team}`);
    await page.getByTestId('credits-remaining').filter({ hasText: /^4$/ }).waitFor();

    // Revoke: the key stops working at the gateway.
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Revoke key console-key' }).click();
    await page
      .getByRole('table', { name: 'Keys' })
      .getByRole('row', { name: /console-key/ })
      .getByText('revoked')
      .waitFor();
    await eventually(
      async () => (await call(gateway.url, 'GET', '/v1/models', { bearer: secret })).status === 401,
      3000,
    );
    await shot('team');

    // Suspend and resume.
    await page.getByRole('button', { name: 'Suspend team' }).click();
    await page.getByRole('heading', { name: /suspended/ }).waitFor();
    await page.getByRole('button', { name: 'Resume team' }).click();
    await page.getByRole('heading', { name: /active/ }).waitFor();

    // The catalog shows the credential without its secret; the audit log shows the changes.
    await page.getByRole('link', { name: 'Model catalog' }).click();
    await page.getByRole('table', { name: 'Deployments' }).getByText(model).waitFor();
    await page
      .getByRole('table', { name: 'Provider credentials' })
      .getByText(`…${providerSecret.slice(-4)}`)
      .first()
      .waitFor();
    expect(await page.content()).not.toContain(providerSecret);
    await shot('catalog');
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Target id').fill(team);
    await page
      .getByRole('table', { name: 'Audit log' })
      .getByText(`/api/teams/${team}/suspend`)
      .waitFor();
    await shot('audit');
    await page.getByRole('link', { name: 'Teams' }).click();
    await page.getByRole('table', { name: 'Teams' }).waitFor();
    await shot('teams');

    // A phone: no sideways scrolling, the navigation reachable, sign-in from the keyboard.
    const phone = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
    const tab = await phone.newPage();
    await tab.goto(`${admin.url}/ui/teams/${team}`);
    await tab.getByLabel('Master key').fill(MASTER_KEY);
    await tab.keyboard.press('Enter');
    await tab.getByRole('heading', { name: /Console Team/ }).waitFor();
    await tab.getByRole('table', { name: 'Keys' }).getByText('console-key').waitFor();
    const overflow = await tab.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await tab
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Usage' })
      .waitFor();
    await shot('team-phone', tab);
    await phone.close();
  });

  it('serves the files without a key, but no API data', async () => {
    const index = await call(admin.url, 'GET', '/ui/some/deep/link');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(String(index.body)).toContain('<div id="root">');
    expect((await call(admin.url, 'GET', '/ui/assets/missing.js')).status).toBe(404);
    expect((await call(admin.url, 'GET', '/api/teams')).status).toBe(401);
  });
});
