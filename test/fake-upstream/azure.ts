import type { IncomingMessage } from 'node:http';

/** The key the fake's Azure OpenAI resource expects in `api-key`. */
export const FAKE_AZURE_KEY = 'fake-azure-key-0123456789abcdef0123';

/** `/openai/deployments/{deployment}/chat/completions` → the deployment name. */
export function azureRoute(path: string): string | null {
  const match = /^\/openai\/deployments\/([^/]+)\/chat\/completions$/.exec(path);
  return match ? decodeURIComponent(match[1]) : null;
}

/** Azure's error body: OpenAI-like, with the status as a string code. */
export function azureError(status: number, message: string) {
  return { error: { code: String(status), message } };
}

/** A wrong key (401) or a missing api-version (404, as Azure answers it), else null. */
export function azureRequestProblem(req: IncomingMessage, query: URLSearchParams) {
  if (req.headers['api-key'] !== FAKE_AZURE_KEY) {
    return {
      status: 401,
      body: azureError(
        401,
        'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
      ),
    };
  }
  if (!query.get('api-version')) {
    return { status: 404, body: azureError(404, 'Resource not found') };
  }
  return null;
}

/** Azure's first stream chunk: prompt filter results and no choices. */
export const azurePromptFilterChunk = {
  choices: [],
  created: 0,
  id: '',
  model: '',
  object: '',
  prompt_filter_results: [
    {
      prompt_index: 0,
      content_filter_results: { hate: { filtered: false, severity: 'safe' } },
    },
  ],
};
