import { isURL } from 'class-validator';
import {
  API_BASE_URL_OPTIONS,
  apiKeyTail,
  compatibleProviders,
  deploymentProblem,
  MODEL_NAME_PATTERN,
} from './catalog-rules';

describe('catalog rules', () => {
  it('accepts http(s) base URLs, local hosts included, and nothing else', () => {
    for (const ok of [
      'http://localhost:11434/v1',
      'http://127.0.0.1:8080/v1',
      'http://ollama:11434/v1',
      'https://api.openai.com/v1',
    ]) {
      expect(isURL(ok, API_BASE_URL_OPTIONS)).toBe(true);
    }
    for (const bad of [
      'ftp://files.example/v1',
      'api.openai.com/v1',
      'not a url',
      'javascript:alert(1)',
    ]) {
      expect(isURL(bad, API_BASE_URL_OPTIONS)).toBe(false);
    }
  });

  it('pairs openai with openai-compatible credentials, and nothing across families', () => {
    expect(compatibleProviders('openai', 'openai')).toBe(true);
    expect(compatibleProviders('openai-compatible', 'openai')).toBe(true);
    expect(compatibleProviders('anthropic', 'anthropic')).toBe(true);
    expect(compatibleProviders('anthropic', 'openai')).toBe(false);
    expect(compatibleProviders('openai', 'anthropic')).toBe(false);
    expect(compatibleProviders('mock', 'openai')).toBe(false);
  });

  it('shows a key tail only when the key is long enough', () => {
    expect(apiKeyTail('sk-proj-abcdefghijklmnop9Zq')).toBe('p9Zq');
    expect(apiKeyTail('short-key')).toBeNull();
  });

  it('requires something to route to', () => {
    const base = { credentialId: null, apiBase: null, credentialApiBase: null };
    expect(deploymentProblem({ ...base, provider: 'mock' })).toBeNull();
    expect(deploymentProblem({ ...base, provider: 'openai' })).toMatch(/^credential_id:/);
    expect(deploymentProblem({ ...base, provider: 'openai', credentialId: 'c' })).toBeNull();
    expect(deploymentProblem({ ...base, provider: 'anthropic', apiBase: 'http://x' })).toBeNull();
    expect(
      deploymentProblem({ ...base, provider: 'openai-compatible', credentialId: 'c' }),
    ).toMatch(/^api_base:/);
    expect(
      deploymentProblem({
        ...base,
        provider: 'openai-compatible',
        credentialId: 'c',
        credentialApiBase: 'http://x/v1',
      }),
    ).toBeNull();
  });

  it('model names: no spaces, no leading punctuation', () => {
    expect(MODEL_NAME_PATTERN.test('meta-llama/Llama-3-8b')).toBe(true);
    expect(MODEL_NAME_PATTERN.test('llama3:8b')).toBe(true);
    expect(MODEL_NAME_PATTERN.test('has space')).toBe(false);
    expect(MODEL_NAME_PATTERN.test('-x')).toBe(false);
  });
});
