import { AZURE_DEFAULT_API_VERSION, azureUrl } from './azure-openai.adapter';
import type { ProviderTarget } from './provider.types';

const target: ProviderTarget = {
  provider: 'azure-openai',
  apiBase: 'https://my-resource.openai.azure.com/',
  apiKey: 'azure-secret',
  providerModel: 'gpt-4o prod',
};

describe('azureUrl', () => {
  it('addresses the deployment with the credential api-version, encoded', () => {
    expect(azureUrl({ ...target, settings: { apiVersion: '2025-04-01-preview' } })).toBe(
      'https://my-resource.openai.azure.com/openai/deployments/gpt-4o%20prod/chat/completions?api-version=2025-04-01-preview',
    );
  });

  it('falls back to the default api-version', () => {
    expect(azureUrl(target)).toBe(
      `https://my-resource.openai.azure.com/openai/deployments/gpt-4o%20prod/chat/completions?api-version=${AZURE_DEFAULT_API_VERSION}`,
    );
  });

  it('refuses a deployment without its resource endpoint', () => {
    expect(() => azureUrl({ ...target, apiBase: '' })).toThrow(
      expect.objectContaining({ kind: 'bad_request' }),
    );
  });
});
