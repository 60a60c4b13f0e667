import type { NestExpressApplication } from '@nestjs/platform-express';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
}

/** Every route Express has registered for the app (Nest controllers, Swagger and health included). */
export function registeredRoutes(
  app: NestExpressApplication,
): Array<{ method: string; path: string }> {
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
        .filter((m) => ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(m))
        .map((method) => ({ method, path: layer.route!.path })),
    );
}
