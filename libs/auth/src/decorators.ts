import {
  applyDecorators,
  createParamDecorator,
  ExecutionContext,
  SetMetadata,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiSecurity,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Request } from 'express';
import type { TeamPrincipal } from './team-principal';

export const ADMIN_SECURITY = 'admin-key';
export const BEARER_SECURITY = 'virtual-key';
export const X_API_KEY_SECURITY = 'x-api-key';
/** Metadata of routes that also take the virtual key as `x-api-key` (Anthropic's header). */
export const ACCEPTS_X_API_KEY = 'tollgate:accepts-x-api-key';

/** Documents the admin key on a controller; the global AdminKeyGuard enforces it everywhere. */
export const AdminAuth = () =>
  applyDecorators(
    ApiSecurity(ADMIN_SECURITY),
    ApiUnauthorizedResponse({ description: 'Missing or invalid X-Admin-Key' }),
  );

/** Documents bearer auth on a controller; the global TeamAuthGuard enforces it everywhere. */
export const TeamAuth = () =>
  applyDecorators(
    ApiBearerAuth(BEARER_SECURITY),
    ApiUnauthorizedResponse({ description: 'Invalid or missing API key' }),
    ApiForbiddenResponse({ description: 'Team suspended/paused, or resource of another team' }),
  );

/**
 * Lets a route (or controller) of the team gateway also take the virtual key as `x-api-key`, as
 * Anthropic's clients send it; every other route reads only `Authorization: Bearer`.
 */
export const AcceptsApiKeyHeader = () =>
  applyDecorators(SetMetadata(ACCEPTS_X_API_KEY, true), ApiSecurity(X_API_KEY_SECURITY));

/** The authenticated virtual key and its team. */
export const CurrentTeam = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): TeamPrincipal =>
    ctx.switchToHttp().getRequest<Request & { user: TeamPrincipal }>().user,
);
