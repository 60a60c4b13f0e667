import { applyDecorators, createParamDecorator, ExecutionContext } from '@nestjs/common';
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

/** The authenticated virtual key and its team. */
export const CurrentTeam = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): TeamPrincipal =>
    ctx.switchToHttp().getRequest<Request & { user: TeamPrincipal }>().user,
);
