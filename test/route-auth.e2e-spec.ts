import { RunningApp, startAdmin, startGateway, uid } from './helpers/apps';
import { call } from './helpers/http';
import { registeredRoutes } from './helpers/routes';

/** The short list of routes reachable without credentials. Adding to it needs a reason. */
const PUBLIC_ROUTES: Record<string, string[]> = {
  'admin-api': [
    'GET /health',
    'GET /health/ready',
    'GET /docs',
    'GET /docs-json',
    'GET /docs-yaml',
    'GET /ui', // the console's static files: no data, every call they make needs X-Admin-Key
  ],
  'team-gateway': [
    'GET /health',
    'GET /health/ready',
    'GET /docs',
    'GET /docs-json',
    'GET /docs-yaml',
    'GET /metrics',
  ],
};

const concrete = (path: string) =>
  path.replace(/:([A-Za-z_]+)/g, (_m, name: string) =>
    /(^|_)id$/.test(name) && !/^(team|org|organization)_id$/.test(name)
      ? '00000000-0000-4000-8000-000000000000'
      : uid(name),
  );

describe.each(['admin-api', 'team-gateway'] as const)('%s: default-deny', (name) => {
  let service: RunningApp;
  beforeAll(async () => {
    service = name === 'admin-api' ? await startAdmin() : await startGateway();
  });
  afterAll(() => service.close());

  it('refuses every route without credentials unless it is on the public list', async () => {
    const routes = registeredRoutes(service.app);
    expect(routes.length).toBeGreaterThan(3);
    const reachable: string[] = [];
    for (const route of routes) {
      if (route.path === '/{*path}') continue; // the not-found fallback, checked below
      const res = await call(service.url, route.method, concrete(route.path), {
        body: ['POST', 'PUT', 'PATCH'].includes(route.method) ? {} : undefined,
      });
      if (res.status !== 401) reachable.push(`${route.method} ${route.path}`);
    }
    const unexpected = reachable.filter(
      (r) => !PUBLIC_ROUTES[name].some((p) => r === p || r.startsWith(`${p}/`)),
    );
    expect(unexpected).toEqual([]);
    for (const method of ['GET', 'POST', 'DELETE']) {
      expect((await call(service.url, method, `/${uid('nowhere')}`)).status).toBe(404);
    }
    // the public ones really are public
    expect((await call(service.url, 'GET', '/health')).status).toBe(200);
    expect((await call(service.url, 'GET', '/docs-json')).status).toBe(200);
  });
});
