import { BEARER_SECURITY, X_API_KEY_SECURITY } from '@app/auth';
import type { DocsSpec } from '@app/http';

export const GATEWAY_DOCS: DocsSpec = {
  title: 'Tollgate team-gateway',
  description:
    'Team API: jobs, LLM calls (streaming included), credits, and an OpenAI-compatible `/v1`. Authenticate with `Authorization: Bearer <virtual key>` (`/v1/messages` also takes Anthropic-style `x-api-key`).',
  security: (b) =>
    b
      .addBearerAuth(
        { type: 'http', scheme: 'bearer', description: 'Virtual key (sk-…)' },
        BEARER_SECURITY,
      )
      .addApiKey(
        {
          type: 'apiKey',
          in: 'header',
          name: 'x-api-key',
          description: 'Virtual key (sk-…), as Anthropic clients send it; /v1/messages only',
        },
        X_API_KEY_SECURITY,
      ),
};
