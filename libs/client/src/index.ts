export { createAdminClient, createGatewayClient, unwrap, ApiError, listAll } from './client';
export type { AdminClient, GatewayClient, AdminSchemas, GatewaySchemas, Page } from './client';
export type { AdminPaths, GatewayPaths } from './client';
export type * from './responses';
