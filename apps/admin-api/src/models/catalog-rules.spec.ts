import { isURL } from 'class-validator';
import {
  API_BASE_URL_OPTIONS,
  apiKeyTail,
  compatibleProviders,
  deploymentProblem,
  linkLocalApiBaseProblem,
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

  it.each([
    'http://169.254.169.254/latest/meta-data',
    'http://169.254.170.2/v2/credentials',
    'https://169.254.0.1:8443/v1',
    'http://2852039166/', // one decimal number
    'http://0xa9.0xfe.0xa9.0xfe/',
    'http://0251.0376.0251.0376/',
    'http://[fe80::1]/v1',
    'http://[FEBF:FFFF::1]/v1',
    'http://[fd00:ec2::254]/v1',
    'http://[fd00:ec2:0:0:0:0:0:254]/v1',
    'http://[::ffff:169.254.169.254]/v1',
    'http://metadata.google.internal/computeMetadata/v1',
    'http://Metadata.Google.Internal./v1',
    'http://metadata/v1',
  ])('refuses the link-local or metadata api_base %s, naming api_base', (url) => {
    expect(linkLocalApiBaseProblem(url)).toMatch(/^api_base: .*ALLOW_LINK_LOCAL_API_BASE=true/);
  });

  it.each([
    'http://localhost:11434/v1',
    'http://127.0.0.1:11434/v1',
    'http://[::1]:11434/v1',
    'http://10.1.2.3/v1',
    'http://172.16.0.1/v1',
    'http://192.168.1.1/v1',
    'http://[fd12::1]/v1',
    'http://[fec0::1]/v1',
    'http://[::ffff:10.0.0.1]/v1',
    'http://169.253.255.255/v1',
    'http://169.255.0.1/v1',
    'http://metadata.example.com/v1',
    'http://169.254.169.254.example.com/v1',
    'https://api.openai.com/v1',
    'not a url',
  ])('allows %s (local models live on loopback and private networks)', (url) => {
    expect(linkLocalApiBaseProblem(url)).toBeNull();
  });
});
