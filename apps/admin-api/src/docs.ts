import { ADMIN_SECURITY } from '@app/auth';
import type { DocsSpec } from '@app/http';

export const ADMIN_DOCS: DocsSpec = {
  title: 'Tollgate admin-api',
  description:
    'Operator API: organizations, teams, virtual keys, provider credentials, models, model groups, credits and analytics. Every route except /health* and /docs* needs `X-Admin-Key`.',
  security: (b) =>
    b.addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-Admin-Key', description: 'MASTER_KEY' },
      ADMIN_SECURITY,
    ),
};
