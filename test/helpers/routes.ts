import type { INestApplication } from '@nestjs/common';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Fastify lists no routes after the fact: they are recorded as they are added (before init). */
const fastifyRoutes = new WeakMap<object, Array<{ method: string; path: string }>>();

interface FastifyRouteOptions {
  method: string | string[];
  url: string;
}

/** Starts recording the routes of a Fastify app (call before `app.init()`/`listen()`). */
export function recordRoutes(app: INestApplication): void {
  if (app.getHttpAdapter().getType() !== 'fastify') return;
  const instance = app.getHttpAdapter().getInstance() as {
    addHook(name: 'onRoute', hook: (route: FastifyRouteOptions) => void): void;
  };
  const routes: Array<{ method: string; path: string }> = [];
  fastifyRoutes.set(app, routes);
  instance.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (METHODS.includes(method)) routes.push({ method, path: route.url });
    }
  });
}

/** Every route the app has registered (Nest controllers, Swagger and health included). */
export function registeredRoutes(app: INestApplication): Array<{ method: string; path: string }> {
  const recorded = fastifyRoutes.get(app);
  if (recorded) return recorded;
  const express = app.getHttpAdapter().getInstance() as {
    router?: { stack: Layer[] };
    _router?: { stack: Layer[] };
  };
  const stack = (express.router ?? express._router)?.stack ?? [];
  return stack
    .filter((layer) => layer.route)
    .flatMap((layer) =>
      Object.keys(layer.route!.methods)
        .map((m) => m.toUpperCase())
        .filter((m) => METHODS.includes(m))
        .map((method) => ({ method, path: layer.route!.path })),
    );
}
