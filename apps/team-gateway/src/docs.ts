import { BEARER_SECURITY } from '@app/auth';
import type { DocsSpec } from '@app/http';

export const GATEWAY_DOCS: DocsSpec = {
  title: 'Tollgate team-gateway',
  description:
    'Team API: jobs, LLM calls (streaming included), credits, and an OpenAI-compatible `/v1`. Authenticate with `Authorization: Bearer <virtual key>`.',
  security: (b) =>
    b.addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'Virtual key (sk-…)' },
      BEARER_SECURITY,
    ),
};
