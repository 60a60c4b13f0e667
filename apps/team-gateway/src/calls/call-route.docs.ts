import { applyDecorators, Type } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiGatewayTimeoutResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiProduces,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';

/** What the documents say of one call route of a client-facing surface (/v1 and Anthropic's). */
export interface CallRouteDocs {
  body: Type<unknown>;
  /** The 200 answer; with `type`, its schema. */
  ok: { description: string; type?: Type<unknown> };
  /** Answers with Server-Sent Events when asked (`stream: true`); default true. */
  streams?: boolean;
  /** The job type of a call without X-Job-Id, when the documents name it. */
  oneCallJobType?: string;
  /** The 400, 403 and 404 answers; false where the controller documents them for all its routes. */
  badRequest?: string | false;
  notFound?: boolean;
  forbidden?: boolean;
  /** Anthropic's error types, named after the 429 and upstream failures. */
  errorTypes?: { rateLimit: string; upstream: string };
}

const typed = (text: string, type?: string) => (type ? `${text} (${type})` : text);

/**
 * The Swagger decorators every call route shares (chat and legacy completions, embeddings,
 * responses, messages): the body, X-Job-Id, what streams, and the answers of the call pipeline.
 */
export function CallRouteDocs(docs: CallRouteDocs) {
  const jobType = docs.oneCallJobType ? ` of type \`${docs.oneCallJobType}\`` : '';
  const types = docs.errorTypes;
  return applyDecorators(
    ...[
      ApiBody({ type: docs.body }),
      ApiHeader({
        name: 'X-Job-Id',
        required: false,
        description: `Join this open job; without it the request is a one-call job${jobType} (id returned in X-Job-Id)`,
      }),
      docs.streams === false ? null : ApiProduces('application/json', 'text/event-stream'),
      ApiOkResponse(docs.ok),
      docs.badRequest === false
        ? null
        : ApiBadRequestResponse({
            description: docs.badRequest ?? 'Malformed body (`param` names the field)',
          }),
      docs.forbidden === false
        ? null
        : ApiForbiddenResponse({
            description: 'Model not allowed, insufficient credits, team suspended',
          }),
      docs.notFound === false
        ? null
        : ApiNotFoundResponse({ description: 'Unknown model (code model_not_found) or X-Job-Id' }),
      ApiConflictResponse({ description: 'The X-Job-Id job is already completed or failed' }),
      ApiTooManyRequestsResponse({
        description: types
          ? `Rate limited (${types.rateLimit}, Retry-After)`
          : 'Rate limited (Retry-After)',
      }),
      ApiBadGatewayResponse({
        description: typed('Every upstream attempt failed', types?.upstream),
      }),
      ApiGatewayTimeoutResponse({ description: typed('Upstream timed out', types?.upstream) }),
    ].filter((d) => d !== null),
  );
}
