import type { ModelDeployment } from '@app/db';

export function toModelResponse(d: ModelDeployment) {
  return {
    model_id: d.modelId,
    model_name: d.modelName,
    provider: d.provider,
    provider_model: d.providerModel,
    credential_id: d.credentialId,
    api_base: d.apiBase,
    input_price_per_million: d.inputPricePerMillion,
    output_price_per_million: d.outputPricePerMillion,
    cached_input_price_per_million: d.cachedInputPricePerMillion,
    cache_write_price_per_million: d.cacheWritePricePerMillion,
    weight: d.weight,
    status: d.status,
    created_at: d.createdAt.toISOString(),
    updated_at: d.updatedAt.toISOString(),
  };
}

export type ModelResponse = ReturnType<typeof toModelResponse>;
